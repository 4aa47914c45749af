"""The Runs page (a file, so that AppTest can switch to it)."""

from digitlab.ui import runs_page

runs_page.render()
