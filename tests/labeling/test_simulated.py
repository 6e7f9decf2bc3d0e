"""Simulated labelers: the scorers on hand-written text, the Boltzmann choice, labeling a store."""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from pathlib import Path

import pytest

from rlhf.errors import RLHFError
from rlhf.labeling.simulated import (
    DEFAULT_TEMPERATURES,
    SCORERS,
    choice_probabilities,
    choose,
    descriptiveness_score,
    expected_agreement,
    rouge_score,
    sentiment_score,
    simulate,
    temperature_for_agreement,
)
from rlhf.labeling.store import LabelStore, sqlite_url

# (vivid, abstract) continuations of the same kind of passage, written for this test.
VIVID_ABSTRACT = [
    ("The rain drummed on the slate roof, and the cold wind rattled the old wooden shutters.",
     "She considered the matter with great attention, for it was a question of some importance."),
    ("Her red shawl slipped from her shoulders as she knelt by the crackling fire, her cheeks flushed.",
     "He had always been of the opinion that such conduct showed a want of proper principle."),
    ("A thin blue smoke curled from the chimney, and the smell of fresh bread drifted across the muddy lane.",
     "There was no doubt that the circumstances required a degree of prudence and consideration."),
    ("He gripped the iron gate with both hands; the rusty hinges groaned and his breath steamed in the frosty air.",
     "It was, in every respect, a situation in which her understanding and her judgement were tested."),
    ("Sunlight glittered on the green water, and the smooth pebbles were warm under her bare feet.",
     "They talked for a long time about their plans and their hopes, and about what it all meant."),
]


def test_sentiment_prefers_a_positive_continuation():
    happy = "She laughed with joy; it was the happiest, most wonderful day of her life."
    sad = "She wept bitterly; it was the worst, most miserable day of her life."
    assert sentiment_score("It was morning.", happy, None) > 0.5 > -0.5 > sentiment_score("It was morning.", sad, None)


@pytest.mark.parametrize("vivid, abstract", VIVID_ABSTRACT)
def test_descriptiveness_ranks_vivid_above_abstract(vivid, abstract):
    assert descriptiveness_score("", vivid, None) > descriptiveness_score("", abstract, None)


def test_descriptiveness_is_a_density_not_a_length():
    vivid = VIVID_ABSTRACT[0][0]
    padded = vivid + " " + " ".join(["And then they went on and talked of it for some time."] * 4)
    assert descriptiveness_score("", padded, None) < descriptiveness_score("", vivid, None)
    # Repeating a word earns nothing, and a bare word does not win by being short.
    assert descriptiveness_score("", "red red red red red red", None) < descriptiveness_score("", vivid, None)
    assert descriptiveness_score("", "Red.", None) < descriptiveness_score("", vivid, None)
    assert descriptiveness_score("", "", None) == 0.0


def test_descriptiveness_derives_forms_by_part_of_speech():
    # "being" is not "bee", "mother" is not "moth", but plurals, -ed and -ly forms count.
    assert descriptiveness_score("", "being a mother", None) == 0.0
    assert descriptiveness_score("", "fingers glowed softly", None) > 0.3


def test_rouge_prefers_a_summary_close_to_the_reference():
    reference = "The city council approved a new budget that raises spending on schools and roads."
    close = "The council approved a budget raising spending on schools and roads."
    unrelated = "A famous singer released a new album of love songs on Friday."
    assert rouge_score("", close, reference) > 0.5 > rouge_score("", unrelated, reference)
    assert rouge_score("", reference, reference) == pytest.approx(1.0)
    with pytest.raises(RLHFError, match="reference"):
        rouge_score("", close, None)


def test_zero_temperature_always_picks_the_best():
    rng = random.Random(0)
    assert {choose([0.1, 0.9, 0.3, -0.2], 0.0, rng) for _ in range(200)} == {1}
    ties = Counter(choose([0.5, 0.9, 0.9, 0.1], 0.0, rng) for _ in range(2000))
    assert set(ties) == {1, 2} and min(ties.values()) > 800  # ties broken at random


def test_large_temperature_is_near_uniform():
    rng = random.Random(1)
    counts = Counter(choose([0.0, 1.0, 0.2, 0.5], 1e6, rng) for _ in range(8000))
    assert all(abs(counts[i] / 8000 - 0.25) < 0.03 for i in range(4))
    assert choice_probabilities([0.0, 1.0, 0.2, 0.5], math.inf) == [0.25] * 4


def test_boltzmann_probabilities_and_no_overflow():
    p = choice_probabilities([0.0, 1.0], 1.0)
    assert p[1] / p[0] == pytest.approx(math.e)
    assert sum(choice_probabilities([1000.0, 0.0, -1000.0], 1e-3)) == pytest.approx(1.0)


def test_expected_agreement_bounds():
    batches = [[0.1, 0.5, 0.3, 0.2], [0.9, 0.1, 0.0, 0.4]]
    assert expected_agreement(batches, 0.0) == 1.0
    assert expected_agreement(batches, math.inf) == 0.25
    assert expected_agreement([[0.2, 0.2, 0.1, 0.0]], 0.0) == 0.5  # a two-way tie at T = 0
    values = [expected_agreement(batches, t) for t in (0.01, 0.1, 1.0, 10.0)]
    assert values == sorted(values, reverse=True)


def test_temperature_for_agreement_hits_the_target():
    rng = random.Random(2)
    batches = [[rng.random() for _ in range(4)] for _ in range(50)]
    t = temperature_for_agreement(batches, 0.6)
    assert expected_agreement(batches, t) == pytest.approx(0.6, abs=1e-6)
    assert temperature_for_agreement([[0.0] * 4], 0.6) == 0.0  # all tied: even T = 0 agrees 25%


def test_default_temperatures_cover_every_kind():
    assert set(DEFAULT_TEMPERATURES) == {"sentiment", "descriptiveness", "rouge"}
    assert all(t > 0 for t in DEFAULT_TEMPERATURES.values())


CALIBRATION_SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "labeler_calibration" / "austen_smollm2_samples.jsonl"


@pytest.mark.parametrize("kind", ["sentiment", "descriptiveness"])
def test_two_labelers_at_the_default_temperature_agree_about_60_percent(kind):
    """Ziegler et al.'s labelers agreed with each other about 60% of the time on 4-way choices, and
    every simulated-labeler figure rests on the default temperatures reproducing that. On the 100
    SmolLM2 batches of Austen excerpts they were calibrated on (tests/fixtures/labeler_calibration),
    two independent labelers must agree 55% to 65% of the time: the agreement that a temperature
    within the calibration's bootstrap range gives on these batches (0.561 to 0.633 for sentiment,
    0.545 to 0.640 for descriptiveness). Chance is 25%; halving or doubling the sentiment
    temperature gives 0.75 or 0.44, doubling the descriptiveness one 0.52 (its T = 0 gives 0.64:
    ties, not the temperature, hold it near 60%)."""
    batches = [json.loads(line)["samples"] for line in CALIBRATION_SAMPLES.read_text(encoding="utf-8").splitlines()]
    scores = [[SCORERS[kind]("", sample, None) for sample in samples] for samples in batches]
    temperature = DEFAULT_TEMPERATURES[kind]
    expected = expected_agreement(scores, temperature)
    assert len(batches) == 100 and 0.55 <= expected <= 0.65, expected
    # Two labelers drawing with `choose` agree as often as the probabilities say (20 passes: 2,000 pairs).
    first, second = random.Random(1), random.Random(2)
    agreed = [choose(s, temperature, first) == choose(s, temperature, second) for _ in range(20) for s in scores]
    assert sum(agreed) / len(agreed) == pytest.approx(expected, abs=0.03)


# -- labeling a store ---------------------------------------------------------------------------

SAMPLES = [
    ["It was a dreadful, miserable evening.", "She smiled; it was a lovely, happy day.",
     "He went to town.", "They argued bitterly and hated it."],
    ["A terrible loss.", "Nothing much happened.", "What a wonderful, joyful surprise!", "He was angry."],
    ["The food was awful.", "I love this beautiful garden.", "It rained.", "A sad, grim day."],
]


def _store(tmp_path, name="labels.db", reference="The council approved a budget for schools."):
    store = LabelStore(sqlite_url(tmp_path / name))
    store.add_queries([{"id": f"q{i}", "task": "sentiment", "prompt": f"Prompt {i}.", "reference": reference}
                       for i in range(len(SAMPLES))])
    for i, samples in enumerate(SAMPLES):
        store.add_batch(f"q{i}", samples, policy="base")
    return store


def test_simulate_labels_every_batch_once(tmp_path):
    store = _store(tmp_path)
    assert simulate(store, "sentiment", task="sentiment", temperature=0, progress=False) == 3
    labels = store.labels()
    assert sorted(l.batch_id for l in labels) == [1, 2, 3]
    assert [l.choice for l in sorted(labels, key=lambda l: l.batch_id)] == [1, 2, 1]  # T = 0: the most positive
    assert {store.labeler("sim:sentiment").id} == {l.labeler_id for l in labels}
    for label in labels:
        assert sorted(label.shown_order) == [0, 1, 2, 3] and label.seconds is None
    # A second run finds nothing left to label.
    assert simulate(store, "sentiment", task="sentiment", progress=False) == 0
    assert len(store.labels(effective=False)) == 3


def test_simulate_respects_the_limit(tmp_path):
    store = _store(tmp_path)
    assert simulate(store, "descriptiveness", task="descriptiveness", limit=2, progress=False) == 2
    assert simulate(store, "descriptiveness", task="descriptiveness", progress=False) == 1


def test_simulate_is_reproducible_with_a_seed(tmp_path):
    runs = []
    for name in ("a.db", "b.db"):
        store = _store(tmp_path, name)
        simulate(store, "sentiment", task="sentiment", temperature=1.0, seed=7, progress=False)
        runs.append([(l.batch_id, l.choice, l.shown_order) for l in store.labels()])
    assert runs[0] == runs[1]


SUMMARIES = ["The council approved a budget for schools.", "A storm closed the coast road for two days.",
             "The museum reopened with a new wing of Roman coins."]
UNRELATED = "A famous singer released an album of love songs."
# Each batch holds every query's reference, so only a labeler that reads its own query's reference
# picks the copy; the copy sits at a different stored position in each batch.
ROUGE_BATCHES = [(0, [SUMMARIES[1], SUMMARIES[2], SUMMARIES[0], UNRELATED]),
                 (1, [SUMMARIES[1], UNRELATED, SUMMARIES[0], SUMMARIES[2]]),
                 (2, [UNRELATED, SUMMARIES[0], SUMMARIES[1], SUMMARIES[2]])]


def test_rouge_labeler_reads_the_query_reference(tmp_path):
    store = LabelStore(sqlite_url(tmp_path / "labels.db"))
    store.add_queries([{"id": f"q{i}", "task": "tldr", "prompt": f"Article {i}. TL;DR:", "reference": summary}
                       for i, summary in enumerate(SUMMARIES)])
    for i, samples in ROUGE_BATCHES:
        store.add_batch(f"q{i}", samples, policy="base")
    assert simulate(store, "rouge", task="tldr", temperature=0, progress=False) == 3
    chosen = [l.choice for l in sorted(store.labels(), key=lambda l: l.batch_id)]
    assert chosen == [samples.index(SUMMARIES[i]) for i, samples in ROUGE_BATCHES] == [2, 0, 3]


def test_a_labeler_needing_a_reference_fails_clearly_without_one(tmp_path):
    store = _store(tmp_path, reference=None)
    with pytest.raises(RLHFError, match="reference summary.*'q0'"):
        simulate(store, "rouge", task="tldr", progress=False)
    assert store.labels() == []


def test_unknown_kind_and_negative_temperature(tmp_path):
    store = _store(tmp_path)
    with pytest.raises(RLHFError, match="unknown simulated labeler 'humour'"):
        simulate(store, "humour", task="sentiment", progress=False)
    with pytest.raises(RLHFError, match="temperature"):
        simulate(store, "sentiment", task="sentiment", temperature=-1, progress=False)
