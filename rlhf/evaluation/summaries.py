"""Summarisation diagnostics of the paper: ROUGE, the lead-k baseline and how much a summary copies.

Section 4.2 of Ziegler et al. (2019) finds that the RL-fine-tuned summarisers are "smart copiers":
they mostly copy whole sentences, often from the start of the source, so ROUGE against a reference
alone says little. These functions measure that copying next to ROUGE. Values that are undefined
for a summary (no sentences, fewer than three words, no reference) are None rather than NaN, so
that the results stay valid JSON; the means in `summary_metrics` skip them.
"""

from __future__ import annotations

import functools
import re
from statistics import fmean
from typing import Optional, Sequence

from rlhf.tasks.prompts import SENTENCE_END

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
WORD = re.compile(r"\w+")
# Ending a copied clause with a full stop still copies it: "He left, then..." -> "He left."
TRAILING_PUNCTUATION = re.compile(r"[\s.!?\"')\]]+$")


@functools.lru_cache(maxsize=1)
def _scorer():
    # Building the scorer loads the Porter stemmer; doing it once per process keeps evaluation fast.
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)


def rouge(summary: str, reference: str) -> dict:
    """ROUGE-1, ROUGE-2 and ROUGE-L F1 of `summary` against `reference`, each in [0, 1]."""
    scores = _scorer().score(reference, summary)  # rouge-score takes (target, prediction)
    return {name: float(scores[name].fmeasure) for name in ROUGE_TYPES}


def sentences(text: str) -> list[str]:
    """Sentences of `text`, with whitespace collapsed.

    Splits like `rlhf.tasks.prompts.split_sentences` (same sentence-end rule, paragraphs on blank
    lines) but keeps paragraphs without end punctuation: that function drops them as headings,
    while a sampled summary is often cut off mid-sentence and its last words must still count.
    """
    result = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = " ".join(paragraph.split())
        result.extend(s for s in SENTENCE_END.split(paragraph) if s)
    return result


# News pages start with bylines and datelines that the sentence splitter takes for sentences:
# "By . Associated Press . PUBLISHED: . 14:11 EST, 3 January 2014 . | . UPDATED: ."
BOILERPLATE = re.compile(
    r"^(?:\|\s*)?(?:by|published|updated|last updated|created)\b"  # "By .", "PUBLISHED: ."
    r"|\b\d{1,2}:\d{2}\b.*\b(?:EST|EDT|GMT|BST|UTC|CET|PST|PDT)\b"  # "14:11 EST, 3 January 2014"
    r"|^[\W\d]*$",  # "|", "." and bare numbers
    re.IGNORECASE,
)
MIN_LEAD_WORDS = 3  # "Associated Press ." is a byline, not a sentence of the story


def story_sentences(document: str) -> list[str]:
    """The document's sentences without the bylines and datelines that precede a news story."""
    found = sentences(document)
    start = 0
    while start < len(found) and (BOILERPLATE.search(found[start]) or len(WORD.findall(found[start])) < MIN_LEAD_WORDS):
        start += 1
    return found[start:]


def lead(document: str, k: int = 3) -> str:
    """The lead-k baseline: the first `k` sentences of the story in `document`, joined by single spaces.

    Bylines and datelines at the top ("By . Associated Press . PUBLISHED: . 14:11 EST, ...") are not
    the story's lead and are skipped.
    """
    return " ".join(story_sentences(document)[:k])


def _normalise(text: str) -> str:
    return " ".join(text.split()).lower()


def _copied(sentence: str, source: str) -> bool:
    """Whether `sentence` occurs verbatim in the (normalised) `source`, as whole words."""
    needle = TRAILING_PUNCTUATION.sub("", _normalise(sentence))
    # Word boundaries, so that "No." is not found inside "piano."
    return re.search(r"(?<!\w)" + re.escape(needle) + r"(?!\w)", source) is not None


def _trigrams(text: str) -> list[tuple[str, ...]]:
    words = WORD.findall(text.lower())
    return list(zip(words, words[1:], words[2:]))


def copy_stats(summary: str, source: str, lead_k: int = 3) -> dict:
    """How much of `summary` is copied from `source` (paper section 4.2).

    copied_sentences: share of the summary's sentences found verbatim in the source.
    copied_lead:      share found verbatim in the source's first `lead_k` sentences.
    fully_copied:     1.0 if every summary sentence is copied, else 0.0.
    novel_trigrams:   share of the summary's word trigrams (with repeats) absent from the source.
    length_words:     number of whitespace-separated words of the summary.
    Sentences are compared case-insensitively with whitespace collapsed, as whole words, ignoring
    trailing punctuation; sentences without a word character (e.g. "...") are not counted. The
    shares are None when the summary has no sentences (novel_trigrams: fewer than three words).
    """
    summary_sentences = [s for s in sentences(summary) if WORD.search(s)]
    full, first = _normalise(source), _normalise(lead(source, lead_k))
    copied = [_copied(s, full) for s in summary_sentences]
    copied_lead = [_copied(s, first) for s in summary_sentences]
    trigrams = _trigrams(summary)
    source_trigrams = set(_trigrams(source))
    n = len(summary_sentences)
    return {
        "copied_sentences": sum(copied) / n if n else None,
        "copied_lead": sum(copied_lead) / n if n else None,
        "fully_copied": float(all(copied)) if n else None,
        "novel_trigrams": (sum(t not in source_trigrams for t in trigrams) / len(trigrams)
                           if trigrams else None),
        "length_words": len(summary.split()),
    }


def _mean(values) -> Optional[float]:
    values = [v for v in values if v is not None]
    return fmean(values) if values else None


def summary_metrics(summaries: Sequence[str], sources: Sequence[str],
                    references: Sequence[Optional[str]]) -> dict:
    """Means over one system's summaries of `rouge` and `copy_stats`, plus `n` (the number of summaries).

    ROUGE is averaged over the summaries with a reference only (None or blank means none);
    every mean skips None values and is None when nothing is left to average.
    """
    if not len(summaries) == len(sources) == len(references):
        raise ValueError(f"got {len(summaries)} summaries, {len(sources)} sources and "
                         f"{len(references)} references; they must pair up")
    scores = [rouge(s, r) for s, r in zip(summaries, references) if r is not None and r.strip()]
    copies = [copy_stats(s, src) for s, src in zip(summaries, sources)]
    result = {name: _mean(score[name] for score in scores) for name in ROUGE_TYPES}
    for key in ("copied_sentences", "copied_lead", "fully_copied", "novel_trigrams", "length_words"):
        result[key] = _mean(c[key] for c in copies)
    result["n"] = len(summaries)
    return result
