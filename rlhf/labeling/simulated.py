"""Simulated labelers: score each of a batch's samples, then pick one the way a noisy person would.

A simulated labeler is the labeler `sim:KIND` of the label store and labels through the same API
as a person in the browser (`next_assignment`, then `submit` with the choice in STORED order and the
order it was shown in), so everything downstream treats its labels like human ones.

Scorers, `score(prompt, continuation, reference) -> float`:
  sentiment        VADER compound score of the continuation, -1 to 1.
  descriptiveness  see `descriptiveness_score`: distinct concrete sensory words per word, from the
                   lexicon in `rlhf/labeling/lexicon.py`.
  rouge            mean of ROUGE-1, ROUGE-2 and ROUGE-L F1 (Porter stemming) against the query's
                   reference summary.

Choice is Boltzmann-rational: P(i) is proportional to exp(score_i / T); T = 0 is always the best
(ties broken at random). The paper's labelers agreed with each other about 60% of the time, so each
kind's default T makes two independent simulated labelers agree about 60% of the time on real
4-way batches, measured with `expected_agreement` (the mean over batches of sum_i P(i)^2):

  kind             4-way batches sampled by SmolLM2-135M (the task's sampling)   default T   agreement
  sentiment        100 Austen excerpts (shared data stories/austen)               0.16        0.608
  descriptiveness  the same 100 Austen batches                                    0.0065      0.601
  rouge            100 BBC articles (summarization/bbc_news_summary), cnndm task   0.028       0.601

At T = 0 the agreement is 0.972 (sentiment), 0.640 (descriptiveness) and 1.000 (rouge); below 1
because of ties: 2 sentiment batches and 28 descriptiveness batches have four equal scores (mostly
four zeros: Austen's prose is abstract), and there any labeler picks at random. A bootstrap over
the batches puts the 60% temperature in [0.143, 0.196] for sentiment, [0.025, 0.032] for rouge, and
[0, 0.011] for descriptiveness, which is the least determined: its T = 0 agreement is already near
60%. The scales differ because the scores do: VADER spans -1..1, ROUGE and word density much less.
Reproduce with `python bench/calibrate_labelers.py` (sampling took 40 minutes on a busy 2-core CPU;
the samples are cached in --samples-dir, so later runs take seconds).
"""

from __future__ import annotations

import math
import random
import re
from functools import lru_cache
from typing import Callable, Optional, Sequence

from tqdm.auto import tqdm

from rlhf.errors import RLHFError
from rlhf.labeling.lexicon import ABSTRACT, CONCRETE_ADJECTIVES, CONCRETE_NOUNS, CONCRETE_VERBS, MODIFIERS, NOT_DERIVED
from rlhf.labeling.store import SIMULATED_PREFIX

Scorer = Callable[[str, str, Optional[str]], float]

# Chosen with expected_agreement on real batches (module docstring): about 60% pairwise agreement.
DEFAULT_TEMPERATURES = {"sentiment": 0.16, "descriptiveness": 0.0065, "rouge": 0.028}
NEEDS_REFERENCE = {"rouge"}
TARGET_AGREEMENT = 0.60


# -- scorers ------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()  # loads its lexicon once per process


def sentiment_score(prompt: str, continuation: str, reference: Optional[str] = None) -> float:
    """VADER compound score of the continuation alone: the labeler judges what the policy wrote."""
    return _vader().polarity_scores(continuation)["compound"]


_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
# Words shorter than the stem limit would match by accident ("sing" -> "s").
_MIN_STEM = 3
# Short texts get no bonus for being short: "Red." alone must not beat a vivid sentence.
_LENGTH_SMOOTHING = 5
_PLURAL = (("ies", "y"), ("es", ""), ("s", ""))
# Which endings each part of speech takes, so that "being" is not "bee" + ing, nor "mother" "moth" + er.
_ENDINGS = {
    "noun": _PLURAL,
    "verb": _PLURAL + (("ied", "y"), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e")),
    "adjective": (("ier", "y"), ("iest", "y"), ("ily", "y"), ("er", ""), ("er", "e"), ("est", ""), ("est", "e"),
                  ("ly", ""), ("ly", "le")),
}
_BY_POS = {"noun": CONCRETE_NOUNS | ABSTRACT, "verb": CONCRETE_VERBS, "adjective": CONCRETE_ADJECTIVES | MODIFIERS}
_CLASSES = (("concrete", CONCRETE_NOUNS | CONCRETE_VERBS | CONCRETE_ADJECTIVES), ("modifier", MODIFIERS),
            ("abstract", ABSTRACT))


def _stems(word: str):
    """Listed base forms the word can be derived from: "fingers", "glowed", "softly", "stepped"."""
    for pos, endings in _ENDINGS.items():
        for suffix, repl in endings:
            if not word.endswith(suffix) or len(word) - len(suffix) + len(repl) < _MIN_STEM:
                continue
            stem = word[: -len(suffix)] + repl
            candidates = [stem]
            if not repl and len(stem) > _MIN_STEM and stem[-1] == stem[-2]:
                candidates.append(stem[:-1])  # stepped -> step, thinner -> thin
            yield from (c for c in candidates if c in _BY_POS[pos])


@lru_cache(maxsize=65536)
def _lookup(word: str) -> Optional[tuple[str, str]]:
    """(lexicon class: 'concrete', 'modifier' or 'abstract'; the listed form) of a word, or None."""
    forms = [word] if word in NOT_DERIVED else [word, *_stems(word)]
    for form in forms:
        for name, words in _CLASSES:
            if form in words:
                return name, form
    return None


def descriptiveness_score(prompt: str, continuation: str, reference: Optional[str] = None) -> float:
    """A proxy for vivid, concrete, physical writing: sensory-word density of the continuation.

    Rewards DISTINCT base forms from a hand-written lexicon (`rlhf/labeling/lexicon.py`) of
    about 590 concrete words (colours, light, sounds, smells and tastes, textures and temperature,
    materials, shapes and sizes, the body, weather and landscape, household objects and clothing,
    animals, physical movements), each worth 1, plus about 50 descriptive modifiers ("slowly",
    "graceful", "enormous": 0.5 each), minus 0.5 per abstract noun of about 60 ("opinion",
    "circumstance", "regard"), all divided by (words + 5): longer is not simply better, and a very
    short text does not win by being short. Repeating a word ("eye", "eyes") earns nothing more.

    Blind spots: no parsing, so negation ("no red"), figurative or abstract uses of concrete words
    ("on the other hand", "in that light", "cold manner") still count; vivid words outside the
    lexicon count nothing; crude suffix stripping instead of lemmatisation; coherence is not judged,
    so a list of sensory nouns scores highest, and a policy optimised against it can drift there.
    """
    words = _WORD.findall(continuation.lower())
    if not words:
        return 0.0
    found = {hit for hit in map(_lookup, words) if hit is not None}  # a set: "eye" and "eyes" count once
    kinds = [name for name, _ in found]
    points = kinds.count("concrete") + 0.5 * kinds.count("modifier") - 0.5 * kinds.count("abstract")
    return points / (len(words) + _LENGTH_SMOOTHING)


@lru_cache(maxsize=1)
def _rouge():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)


def rouge_score(prompt: str, continuation: str, reference: Optional[str] = None) -> float:
    """Mean of ROUGE-1, ROUGE-2 and ROUGE-L F1 of the continuation against the reference."""
    if reference is None:
        raise RLHFError("the rouge labeler needs a reference summary")
    scores = _rouge().score(reference, continuation)  # (target, prediction)
    return sum(s.fmeasure for s in scores.values()) / len(scores)


SCORERS: dict[str, Scorer] = {
    "sentiment": sentiment_score,
    "descriptiveness": descriptiveness_score,
    "rouge": rouge_score,
}


def scorer(kind: str) -> Scorer:
    if kind not in SCORERS:
        raise RLHFError(f"unknown simulated labeler {kind!r}: use one of {', '.join(SCORERS)}")
    return SCORERS[kind]


# -- choice -------------------------------------------------------------------------------------


def choice_probabilities(scores: Sequence[float], temperature: float) -> list[float]:
    """P(i) proportional to exp(score_i / T); T = 0: uniform over the best; T = inf: uniform."""
    if temperature == 0:
        best = max(scores)
        top = [s == best for s in scores]
        return [t / sum(top) for t in top]
    if math.isinf(temperature):
        return [1 / len(scores)] * len(scores)
    top = max(scores)
    weights = [math.exp((s - top) / temperature) for s in scores]  # minus the max: no overflow
    total = sum(weights)
    return [w / total for w in weights]


def choose(scores: Sequence[float], temperature: float, rng: random.Random) -> int:
    """An index drawn from `choice_probabilities` (so T = 0 breaks ties at random)."""
    probs = choice_probabilities(scores, temperature)
    return rng.choices(range(len(scores)), weights=probs)[0]


def expected_agreement(score_lists: Sequence[Sequence[float]], temperature: float) -> float:
    """The chance that two independent labelers pick the same sample: mean over batches of sum P(i)^2."""
    per_batch = [sum(p * p for p in choice_probabilities(scores, temperature)) for scores in score_lists]
    return sum(per_batch) / len(per_batch)


def temperature_for_agreement(score_lists, target: float = TARGET_AGREEMENT) -> float:
    """The T at which `expected_agreement` equals `target` (0 when even T = 0 agrees less).

    Agreement falls monotonically as T grows, so bisection on log T finds it.
    """
    if expected_agreement(score_lists, 0.0) <= target:
        return 0.0
    low, high = -12.0, 6.0  # log T: from e^-12 (all but argmax) to e^6 (near uniform)
    for _ in range(60):
        mid = (low + high) / 2
        if expected_agreement(score_lists, math.exp(mid)) > target:
            low = mid
        else:
            high = mid
    return math.exp((low + high) / 2)


# -- labeling a store ---------------------------------------------------------------------------


def labeler_name(kind: str) -> str:
    return f"{SIMULATED_PREFIX}{kind}"


def simulate(store, kind: str, *, task, temperature: Optional[float] = None, labelers_per_batch: int = 1,
             seed: int = 0, limit: Optional[int] = None, progress: bool = True, count_machines: bool = True,
             gold_rate: float = 0.0) -> int:
    """Label open batches as `sim:KIND` until none are left or `limit` labels are stored; without
    `count_machines` only other imported and simulated labelers' assignments fill a batch's places.
    With `gold_rate` it is handed gold questions too, as a person is (`labeling.gold_rate`).

    `task` (a Task or its name) names the run's task in messages. Returns how many labels were stored.
    """
    score = scorer(kind)
    temperature = DEFAULT_TEMPERATURES[kind] if temperature is None else temperature
    if temperature < 0:
        raise RLHFError(f"a simulated labeler's temperature must be 0 or positive, got {temperature}")
    task_name = getattr(task, "name", task)
    labeler = store.ensure_labeler(labeler_name(kind))
    rng = random.Random(seed)  # one stream for shown orders and choices: a seeded run repeats exactly
    remaining = _remaining(store, labeler.id, labelers_per_batch, limit, count_machines, gold_rate)
    stored = 0
    with tqdm(total=remaining, desc=f"{labeler.name} ({task_name})", unit="label", disable=not progress) as bar:
        while limit is None or stored < limit:
            assignment = store.next_assignment(labeler.id, labelers_per_batch, rng, count_machines, gold_rate)
            if assignment is None:
                break
            reference = _reference(store, kind, assignment, task_name)
            scores = [score(assignment.prompt, sample, reference) for sample in assignment.samples]
            store.submit(labeler.id, assignment.batch_id, choice=choose(scores, temperature, rng),
                         shown_order=assignment.shown_order, seconds=None)
            stored += 1
            bar.update(1)
    return stored


def _remaining(store, labeler_id: int, labelers_per_batch: int, limit: Optional[int], count_machines: bool,
               gold_rate: float) -> int:
    progress = store.progress(labeler_id, labelers_per_batch, count_machines, gold_rate)
    left = progress.available - progress.done
    return left if limit is None else min(left, limit)


def _reference(store, kind: str, assignment, task_name) -> Optional[str]:
    if kind not in NEEDS_REFERENCE:
        return None
    reference = store.query(assignment.query_id).reference
    if not reference:
        raise RLHFError(f"the {kind} labeler compares samples with a reference summary, but query "
                        f"{assignment.query_id!r} (batch {assignment.batch_id}, task {task_name}) has none: "
                        f"sample from a prompt source with a reference field, or use another labeler")
    return reference
