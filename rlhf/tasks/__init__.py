"""Tasks at work: prompt sources read, queries built to fit, responses cut by the task's rule."""
