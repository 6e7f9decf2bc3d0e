from labeling_app.compare_page import render_page

render_page()
