"""Where an item's continuations differ: the words of each one that not all the others share.

Each continuation is aligned word by word with every other one (`difflib.SequenceMatcher`, the
longest matching runs first). A word is shared with another continuation when the alignment matches
it there; it is marked unless every other continuation shares it. So four near-identical summaries
show only the few words where they part, and two pairs that differ by one word each show that word
in all four (a rule of "words no other has" would mark nothing there). White space is never marked
on its own, only between two marked words, so a changed phrase reads as one highlight.
"""

from __future__ import annotations

import difflib
import re

Segment = tuple[str, bool]  # a run of the text, and whether it is marked as differing
_TOKENS = re.compile(r"\s+|\S+")  # words and the white space between them: joined, they give the text back


def segments(texts: list[str]) -> list[list[Segment]]:
    """Each text cut into runs that are marked (not shared by all the others) or not; joined they give it back."""
    words = [_TOKENS.findall(text) for text in texts]
    shared = [_shared_with_all(i, words) for i in range(len(words))]
    return [_runs(tokens, flags) for tokens, flags in zip(words, shared)]


def _shared_with_all(i: int, words: list[list[str]]) -> list[bool]:
    """For each token of text i: whether every other text's alignment with it matches that token."""
    shared = [True] * len(words[i])
    for j, other in enumerate(words):
        if j == i:
            continue
        matched = [False] * len(words[i])
        for block in difflib.SequenceMatcher(None, words[i], other, autojunk=False).get_matching_blocks():
            matched[block.a:block.a + block.size] = [True] * block.size
        shared = [s and m for s, m in zip(shared, matched)]
    return shared


def _runs(tokens: list[str], shared: list[bool]) -> list[Segment]:
    marked = [not s and not t.isspace() for t, s in zip(tokens, shared)]
    for k, token in enumerate(tokens):  # a space between two marked words joins them
        if token.isspace() and 0 < k < len(tokens) - 1 and marked[k - 1] and marked[k + 1]:
            marked[k] = True
    runs: list[Segment] = []
    for token, mark in zip(tokens, marked):
        if runs and runs[-1][1] == mark:
            runs[-1] = (runs[-1][0] + token, mark)
        else:
            runs.append((token, mark))
    return runs
