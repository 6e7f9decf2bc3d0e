"""Fabricated run directories for the report tests: every stage's artifacts, with made-up numbers.

`make_run(root, name, ...)` writes runs/<name>/ as the real stages would (config.yaml,
reward_model/metrics.json, policy/metrics.json and training_log.json, eval/metrics.json and
samples.jsonl) without any model; each stage can be left out to fabricate a half-finished run.
The headline figures are fixed so tests can look for them: the policy wins 30 of 40 prompts by
the simulated labeler (75.0% [59.8%, 85.8%]) and the reward model picks the best of 4 in 62.5%.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import yaml

BASELINE = "zero-shot"
# Model text that would run script, make elements or fetch if any renderer let it through.
NASTY = ("<script>alert(1)</script> then <img src=x onerror=alert(1)> and [link](http://x) and "
         "![img](http://x/y.png) | *bold* _it_ `code` ~~gone~~ &amp; $x$ # heading")
JUDGES = {  # judge: (wins, ties, losses, low, high) of the policy against zero-shot, out of 40 prompts
    "simulated:sentiment": (30, 0, 10, 0.5980603857923197, 0.858128813609037),
    "reward_model": (26, 0, 14, 0.49505880837257693, 0.7786547112682372),
}
HUMAN = (7, 0, 5, 0.31951131254954973, 0.8067396863412435)  # 12 judged pairs
UPDATES = 20


def _record(wins, ties, losses, low, high) -> dict:
    n = wins + ties + losses
    return {"wins": wins, "losses": losses, "ties": ties, "n": n, "win_rate": (wins + 0.5 * ties) / n,
            "low": low, "high": high}


def write_config(run: Path, name: str, task: str, **sections) -> Path:
    """config.yaml of a run; `sections` add or replace top-level sections (labeling={...})."""
    config = {"name": name, "output_dir": str(run.parent), "seed": 0, "model": {"name": "smollm2-135m"},
              "task": {"name": task, "description": f"The {task} task.", "query_length": 64, "response_length": 24,
                       "truncate_token": "."}, **sections}
    run.mkdir(parents=True, exist_ok=True)
    (run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return run / "config.yaml"


def write_reward(run: Path, task: str) -> None:
    metrics = {"best_of_n_accuracy": 0.625, "chance_accuracy": 0.25, "pairwise_accuracy": 0.71, "loss": 1.21,
               "calibration_error": 0.043, "labels": 200, "train_labels": 1800, "loss_type": "best_of_n",
               "normalization": {"before": [1.0, 0.0], "after": [0.8, 0.1], "samples": 256},
               "backbone": "smollm2-135m", "task": task}
    _json(run / "reward_model" / "metrics.json", metrics)


def training_log(updates: int = UPDATES, labeler: bool = True) -> list[dict]:
    rows = []
    for step in range(1, updates + 1):
        row = {"episode": 64 * step, "step": step, "objective/scores": -0.2 + 0.08 * step,
               "objective/raw_scores": 1.5 + 0.1 * step, "objective/kl": 0.3 * step ** 0.8,
               "objective/beta": 0.1 * 0.97 ** step, "objective/penalized": 0.2 / step,
               "objective/rlhf_reward": -0.2 + 0.05 * step, "policy/entropy": 3.1 - 0.02 * step,
               "loss/value": 0.5 / step, "loss/policy": -0.01, "policy/clipfrac": 0.05, "response/length": 20.0,
               "eps": 2.5, "tokens_per_s": 120.0}
        if labeler:
            row["objective/labeler_score"] = 0.05 * step
        rows.append(row)
    return rows + [{"train_runtime": 812.0, "step": updates}]  # the trainer's closing summary row


def write_policy(run: Path, labeler: bool = True) -> None:
    log = training_log(labeler=labeler)
    updates = [row for row in log if "objective/scores" in row]
    keys = ["objective/scores", "objective/raw_scores", "objective/kl", "objective/beta", "objective/penalized",
            "response/length", "eps", "tokens_per_s"] + (["objective/labeler_score"] if labeler else [])
    summary = {"updates": updates[-1]["step"], "episodes": updates[-1]["episode"],
               "first": {k: updates[0][k] for k in keys}, "last": {k: updates[-1][k] for k in keys}}
    _json(run / "policy" / "metrics.json", summary)
    _json(run / "policy" / "training_log.json", log)


def sample_rows(queries: int, k: int, nasty: bool, summaries: bool, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(queries):
        texts = {BASELINE: [f"base sample {i}.{j} said little" for j in range(k)],
                 "policy": [f"policy sample {i}.{j} was wonderful and kind" for j in range(k)]}
        if nasty and i == 0:
            texts["policy"][0] = NASTY
            texts[BASELINE][0] = "<b>bold</b> [a](javascript:alert(1))"
        if summaries:
            texts["reference"] = [f"reference {i}"] * k
            texts["lead"] = [f"lead sentence {i}"] * k
        scores = {judge: {s: [round(rng.gauss(0.5 if s == "policy" else 0.0, 1.0), 4) for _ in range(k)]
                          for s in texts} for judge in JUDGES}
        query = (NASTY + " The story begins") if nasty and i == 0 else f"Query {i}: once upon a time"
        rows.append({"query_id": f"q{i}", "query": query, "reference": f"reference {i}" if summaries else None,
                     "systems": texts, "scores": scores})
    return rows


def write_eval(run: Path, task: str, queries: int = 40, k: int = 2, nasty: bool = False, summaries: bool = False,
               human: bool = True, with_samples: bool = True) -> None:
    judges = {judge: {"policy": _record(*counts)} for judge, counts in JUDGES.items()}
    if human:
        judges["human"] = {"policy": _record(*HUMAN)}
    systems = ["policy"] + (["reference", "lead"] if summaries else [])
    metrics = {"task": task, "baseline": BASELINE, "systems": systems, "queries": queries, "samples_per_query": k,
               "judges": judges, "unit": "automatic judges: a prompt is won when the mean score of its samples beats "
                                         "zero-shot's; humans: one pair",
               "mean_scores": {j: {"policy": 0.52, BASELINE: -0.03} for j in JUDGES},
               "lengths": {BASELINE: 5.0, "policy": 7.0}, "seconds": 123.4}
    if summaries:
        stats = {"rouge1": 0.3125, "rouge2": 0.105, "rougeL": 0.25, "copied_sentences": 0.5, "copied_lead": 0.25,
                 "fully_copied": 0.125, "novel_trigrams": 0.4, "length_words": 21.5, "n": queries * k}
        metrics["summaries"] = {s: dict(stats) for s in [BASELINE] + systems}
        metrics["summaries"]["lead"]["rouge1"] = None  # an undefined mean is null, not NaN
        metrics["against"] = {"supervised": {"reward_model": {"policy": _record(30, 4, 6, 0.65, 0.89)}}}
    _json(run / "eval" / "metrics.json", metrics)
    if with_samples:
        rows = sample_rows(queries, k, nasty, summaries)
        path = run / "eval" / "samples.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def make_run(root: Path, name: str = "demo", task: str = "sentiment", *, reward: bool = True, policy: bool = True,
             evaluation: bool = True, **eval_options) -> Path:
    """runs/<name>/ under `root` with the stages asked for; returns the run directory."""
    run = Path(root) / name
    write_config(run, name, task)
    if reward:
        write_reward(run, task)
    if policy:
        write_policy(run)
    if evaluation:
        write_eval(run, task, **eval_options)
    return run


def _json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


# A tiny label store with figures worked out by hand (tests/report/test_label_sections.py checks them).
# ann and bob (people) label batches 1-4 and choose alike on 1, 2 and 4: observed agreement 3/4, and
# over their 4 batches Fleiss' kappa (0.75 - 18/64) / (1 - 18/64) = 15/23 = 0.652 and Krippendorff's
# alpha 1 - (2/8) / (46/56) = 16/23 = 0.696. bob skips batch 5. sim:sentiment (simulated, left out of
# agreement) chooses on batches 1 and 2. Positions shown: ann [3, 0, 0, 1] (chi-square 6, p 0.112),
# bob [2, 1, 0, 1] (p 0.572), sim [1, 0, 0, 1] (p 0.572), all [6, 1, 0, 3] (chi-square 8.4, p 0.038).
# Seconds: ann 4, 6, 8, 10 (median 7.0, 514 labels an hour); bob 20, 30, 40, 50 and 60 for the skip
# (median 40.0, 90 an hour); quantiles of all nine: 25% 8, 50% 20, 75% 40, 90% 60.
STORE_LABELS = {  # labeler: [(batch, choice or None for a skip, shown order, seconds)]
    "ann": [(1, 0, [0, 1, 2, 3], 4), (2, 1, [1, 0, 2, 3], 6), (3, 2, [2, 0, 1, 3], 8), (4, 3, [0, 1, 2, 3], 10)],
    "bob": [(1, 0, [0, 1, 2, 3], 20), (2, 1, [0, 1, 2, 3], 30), (3, 0, [0, 1, 2, 3], 40), (4, 3, [0, 1, 2, 3], 50),
            (5, None, [0, 1, 2, 3], 60)],
    "sim:sentiment": [(1, 0, [3, 2, 1, 0], None), (2, 3, [3, 2, 1, 0], None)],
}


def fill_label_store(run: Path) -> None:
    """The labels of STORE_LABELS in the run's SQLite store: five batches of four samples."""
    from rlhf.labeling.store import LabelStore

    store = LabelStore.for_run(run)
    store.add_queries([{"id": f"s{i}", "task": "sentiment", "prompt": f"Story {i}", "split": "train"} for i in range(1, 6)])
    batches = {i: store.add_batch(f"s{i}", [f"sample {i}.{j}" for j in range(4)], "zero-shot") for i in range(1, 6)}
    for name, labels in STORE_LABELS.items():
        labeler = store.ensure_labeler(name) if name.startswith("sim:") else store.add_labeler(name, "pw-" + name)
        for batch, choice, shown, seconds in labels:
            store.submit(labeler.id, batches[batch], choice=choice, shown_order=shown, seconds=seconds,
                         skipped=choice is None, reason="unclear" if choice is None else None)
    store.engine.dispose()
