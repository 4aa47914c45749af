"""The My digits page (a file, so that AppTest can switch to it)."""

from digitlab.ui import my_digits_page

my_digits_page.render()
