"""The Search page (a file, so that AppTest can switch to it)."""

from digitlab.ui import search_page

search_page.render()
