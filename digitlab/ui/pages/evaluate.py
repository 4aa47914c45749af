"""The Evaluate page (a file, so that AppTest can switch to it)."""

from digitlab.ui import evaluate_page

evaluate_page.render()
