"""The labeling page's layout: wide, with tight spacing, so that a long prompt's end, four continuations
and the page's actions fit a 1280x800 browser window without scrolling.

Streamlit's default centered layout is 736 px wide, and it puts 6rem above the page and 1rem between
elements; four continuations of 75 tokens then need two screens. The page is wide (up to 1400 px, so
lines stay readable at 1920), and the spacing is Streamlit's own made smaller by CSS.
"""

from __future__ import annotations

import streamlit as st

LABEL_PAGE_CSS = """<style>
[data-testid="stMainBlockContainer"]{padding:3.75rem 2rem 2rem;max-width:1400px}
[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"]{gap:0.5rem}
[class*="st-key-option_"]{padding:0.5rem 0.75rem;gap:0.25rem}
[class*="st-key-option_"] button{min-height:2rem}
[class*="st-key-option_"] [data-testid="stHtml"] > div,.rlhf-prompt{line-height:1.45 !important}
.st-key-label_toolbar [data-testid="stProgress"]{flex:1 1 20rem}
.rlhf-prompt details:not([open]) .rlhf-when-open,.rlhf-prompt details[open] .rlhf-when-closed{display:none}
.rlhf-prompt details:not([open]) + .rlhf-prompt-end::before{content:"… "}
</style>"""


def fit_page() -> None:
    """The page's spacing; app.py gives it the wide layout (one page config per run)."""
    st.html(LABEL_PAGE_CSS)
