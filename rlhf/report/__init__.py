"""Reports: run directories read, laid out as sections, rendered to markdown and HTML with plots."""
