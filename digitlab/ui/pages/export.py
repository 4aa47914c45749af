"""The Export page (a file, so that AppTest can switch to it)."""

from digitlab.ui import export_page

export_page.render()
