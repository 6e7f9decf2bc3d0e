from labeling_app.label_page import render_page

render_page()
