"""The bottom layer: atomic writes, the child-process helper, errors meant for a user."""
