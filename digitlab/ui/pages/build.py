"""The Build page (a file, so that AppTest can switch to it)."""

from digitlab.ui import build_page

build_page.render()
