"""Evaluation: systems against zero-shot on held-out queries, win rates, summary statistics, dashboard rows."""
