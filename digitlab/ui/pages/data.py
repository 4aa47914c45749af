"""The Data page (a file, so that AppTest can switch to it)."""

from digitlab.ui import data_page

data_page.render()
