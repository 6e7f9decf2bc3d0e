"""Route of the labeling page."""

from labeling_app.label_page import render_page

render_page()
