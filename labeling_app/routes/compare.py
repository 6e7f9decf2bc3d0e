"""Route of the Compare page."""

from labeling_app.compare_page import render_page

render_page()
