"""Route of the dashboard."""

from labeling_app.dashboard_page import render_page

render_page()
