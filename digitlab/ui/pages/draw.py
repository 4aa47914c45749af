"""The Draw page (a file, so that AppTest can switch to it)."""

from digitlab.ui import draw

draw.render()
