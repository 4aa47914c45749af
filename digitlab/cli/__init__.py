"""The command line: `python -m digitlab ...`, one module per command group."""
