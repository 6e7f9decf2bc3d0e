"""Evaluation: the fine-tuned policy (and any other system) against the zero-shot baseline.

Every model system samples the same held-out queries with the same settings and seed; summaries
add the reference and lead-k as systems. Automatic judges score every sample: the task's simulated
labeler, and the reward model (a proxy, since the policy was optimised against it). A prompt is
won when the mean score of the system's samples beats the baseline's mean: several samples per
prompt, because single samples tie often (VADER scores many neutral sentences 0). Humans judge
single pairs in the app's Compare page (`--human` queues them); their win rate counts pairs.

Artifacts (runs/<name>/eval/): samples.jsonl (one row per query, every system's samples and every
judge's scores side by side) and metrics.json. Each system's samples are kept in eval/systems/ as
they finish, with the key they were drawn under: an interrupted evaluation resumes with the systems
still missing, and a later round reuses the systems it shares with an earlier one.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Optional

from rlhf.config.rounds import rl_only_config
from rlhf.errors import RLHFError
from rlhf.evaluation.win_rates import prompt_win_rates, store_win_rates
from rlhf.run.files import write_jsonl, write_text
from rlhf.run.layout import RunLayout, is_model_dir

BASELINE = "zero-shot"


@dataclass
class System:
    name: str
    location: Optional[str] = None  # a model directory; None: the base model, or a text system below
    text: Optional[str] = None  # "reference" or "lead" for systems that are not sampled
    top_k: Optional[int] = None


def policy_dir(config) -> Path:
    return Path(config.evaluation.policy).expanduser() if config.evaluation.policy else config.layout.policy


def model_dir(config, path: str) -> Path:
    """A system's model directory; `sft` is the run's supervised model."""
    location = config.model_dir(path)
    if not is_model_dir(location):
        hint = "train it with `rlhf sft`" if path == "sft" else "check evaluation.systems"
        raise RLHFError(f"no model at {location}: {hint}")
    return location


def rl_only_policy_dir(config) -> Optional[Path]:
    """The policy trained from the base model beside a supervised + RL one (policy.also_from_base)."""
    return rl_only_config(config).layout.policy if config.policy.also_from_base else None


def systems_for(config) -> list[System]:
    """Zero-shot first, then the policy (where trained), the configured models, and summary baselines."""
    ev, task = config.evaluation, config.task
    systems = [System(BASELINE, top_k=ev.zero_shot_top_k)]
    if is_model_dir(policy_dir(config)):
        systems.append(System("policy", str(policy_dir(config))))
    elif ev.policy:
        raise RLHFError(f"evaluation.policy {ev.policy} holds no model (no config.json)")
    systems += [System(name, str(model_dir(config, path))) for name, path in ev.systems.items()]
    rl_only = rl_only_policy_dir(config)
    if rl_only is not None and is_model_dir(rl_only) and "rl" not in ev.systems:
        systems.append(System("rl", str(rl_only)))
    if task.reference_field and ev.include_reference:
        systems.append(System("reference", text="reference"))
    if task.reference_field and task.truncate_field and ev.lead_sentences:  # summaries only
        systems.append(System(f"lead-{ev.lead_sentences}", text="lead"))
    if len(systems) == 1:
        raise RLHFError(f"nothing to compare with zero-shot: no policy at {policy_dir(config)}; "
                        "train one with `rlhf train-policy` or name systems under evaluation.systems")
    return systems


def settings_for(config, system: System):
    from rlhf.generation import sampling_settings

    settings = replace(sampling_settings(config), num_samples=config.evaluation.samples_per_query,
                       batch_size=config.evaluation.batch_size)
    return settings if system.top_k is None else replace(settings, top_k=system.top_k)


def sample_system(config, system: System, queries, log=print) -> list[list[str]]:
    """Each query's samples from one system."""
    if system.text == "reference":
        return [[q.reference or ""] for q in queries]
    if system.text == "lead":
        from rlhf.evaluation.summaries import lead

        return [[lead(q.document or q.source or "", config.evaluation.lead_sentences)] for q in queries]
    from rlhf.generation import generate, with_precision
    from rlhf.models.loading import load_causal_lm

    model, tokenizer = load_causal_lm(config.model, location=system.location, log=log) if system.location \
        else _base_model(config, log)
    log(f"sampling {system.name}: {len(queries)} queries x {config.evaluation.samples_per_query}")
    settings = with_precision(settings_for(config, system), config.evaluation.bf16, "evaluation", model,
                              config.task.query_length, log)
    results = generate(model, tokenizer, queries, settings)
    return [[s.text for s in samples] for samples in results]


def _base_model(config, log):
    from rlhf.models.loading import load_model_for

    return load_model_for(config, log)


def cached_samples(config, system: System, queries, log=print) -> list[list[str]]:
    """A system's samples: reused from this run's eval/systems/ (an interrupted evaluation) or an
    earlier run's (evaluation.reuse_samples_from) where they were drawn the same way, else sampled."""
    key = sample_key(config, system, queries)
    path = config.layout.eval_systems / f"{system.name}.json"
    for saved in [path, *earlier_samples(config)]:
        found = json.loads(saved.read_text(encoding="utf-8")) if saved.is_file() else {}
        if found.get("key") == key:
            log(f"{system.name}: reusing samples from {saved}")
            if saved != path:
                write_text(path, json.dumps(found))
            return found["samples"]
    samples = sample_system(config, system, queries, log)
    write_text(path, json.dumps({"key": key, "samples": samples}))
    return samples


def sample_key(config, system: System, queries) -> dict:
    """What a system's samples depend on. Not its name (round 1's `round-0` is round 0's `policy`), but
    its model files' sizes and times, so a model retrained in place is sampled afresh."""
    location = str(Path(system.location).resolve()) if system.location else None
    files = sorted([p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in Path(location).iterdir()
                   if p.is_file()) if location else []
    return {"location": location, "model_files": files, "text": system.text, "top_k": system.top_k,
            "queries": [q.id for q in queries], "settings": asdict(settings_for(config, system)),
            "model": config.model.name}


def earlier_samples(config) -> list[Path]:
    """The saved samples of the runs named in evaluation.reuse_samples_from (those that exist)."""
    folders = [RunLayout(Path(run).expanduser()).eval_systems for run in config.evaluation.reuse_samples_from]
    return [path for folder in folders if folder.is_dir() for path in sorted(folder.glob("*.json"))]


def judge_scores(config, judge: str, queries, samples: dict[str, list[list[str]]], log=print):
    """{system: per-query lists of this judge's scores}, or None when the judge is unavailable here."""
    if judge == "simulated":
        from rlhf.labeling.simulated import scorer

        if not config.task.labeler:
            return None
        score = scorer(config.task.labeler)
        return {name: [[score(q.text, t, q.reference) for t in texts] for q, texts in zip(queries, rows)]
                for name, rows in samples.items()}
    return _reward_model_scores(config, queries, samples, log)


def _reward_model_scores(config, queries, samples, log):
    from reward.model import load_reward_model
    from reward.normalize import rewards
    location = config.reward_model_dir
    if not is_model_dir(location):
        log(f"no reward model at {location}: the reward_model judge is left out")
        return None
    model, tokenizer = load_reward_model(location)
    scores = {}
    for name, rows in samples.items():
        pairs = [(q.text, t) for q, texts in zip(queries, rows) for t in texts]
        flat = iter(rewards(model, tokenizer, pairs, batch_size=config.evaluation.batch_size).tolist())
        scores[name] = [[next(flat) for _ in texts] for texts in rows]
    return scores


def judge_name(config, judge: str) -> str:
    return f"simulated:{config.task.labeler}" if judge == "simulated" else judge


def human_win_rates(config) -> dict:
    """Win rates from the pairs humans judged in the app, {} when there are none (or no store)."""
    if not config.has_label_store():
        return {}
    return store_win_rates(config.database_url, BASELINE)


def evaluate(config, log=print, overwrite: bool = False) -> dict:
    """Sample, judge and write eval/samples.jsonl and eval/metrics.json; returns the metrics."""
    out = config.layout.eval
    if config.layout.evaluation_done() and not overwrite:
        raise RLHFError(f"{out} already holds a finished evaluation; pass --overwrite to evaluate again "
                        "(human judgements are read afresh by `rlhf report`)")
    started = time.time()
    queries, samples = sample_all(config, log)
    scores = {}
    for judge in config.evaluation.judges:
        found = judge_scores(config, judge, queries, samples, log)
        if found is not None:
            scores[judge_name(config, judge)] = found
    metrics = summarize(config, queries, samples, scores)
    metrics["seconds"] = round(time.time() - started, 1)
    write_jsonl(out / "samples.jsonl", sample_rows(queries, samples, scores))
    write_text(out / "metrics.json", json.dumps(metrics, indent=2))
    return metrics


def sample_all(config, log=print):
    """The held-out queries and {system: per-query samples}."""
    from rlhf.models.loading import resolve
    from rlhf.models.tokenizer import load_tokenizer
    from rlhf.tasks.queries import queries_for

    systems = systems_for(config)
    tokenizer = load_tokenizer(resolve(config.model.name, config.model.cache_dir, log=log, revision=config.model.revision))
    queries = queries_for(config, tokenizer, "eval", config.evaluation.num_queries, log=log)
    if not queries:
        raise RLHFError("the eval split has no usable queries: raise prompts.eval_fraction or use a larger prompt source")
    return queries, {s.name: cached_samples(config, s, queries, log) for s in systems}


def win_rates_against(scores, n_queries: int, baseline: str) -> dict:
    """{judge: {system: win rate against `baseline`}} from every judge's per-query scores."""
    rates = {}
    for judge, per_system in scores.items():
        per_query = [{name: per_system[name][i] for name in per_system} for i in range(n_queries)]
        rates[judge] = {name: rate.to_dict() for name, rate in prompt_win_rates(per_query, baseline).items()}
    return rates


def summarize(config, queries, samples, scores) -> dict:
    judges = win_rates_against(scores, len(queries), BASELINE)
    unknown = [name for name in config.evaluation.against if name not in samples]
    if unknown:
        raise RLHFError(f"evaluation.against names {', '.join(unknown)}, which this evaluation does not have; "
                        f"its systems are {', '.join(samples)}")
    against = {name: win_rates_against(scores, len(queries), name) for name in config.evaluation.against}
    human = human_win_rates(config)
    if human:
        judges["human"] = human
    metrics = {
        "task": config.task.name, "baseline": BASELINE, "systems": [n for n in samples if n != BASELINE],
        "queries": len(queries), "samples_per_query": config.evaluation.samples_per_query, "judges": judges,
        "against": against,
        "unit": "automatic judges: a prompt is won when the mean score of its samples beats zero-shot's; humans: one pair",
        "mean_scores": {judge: {name: _mean([x for row in rows for x in row]) for name, rows in per_system.items()}
                        for judge, per_system in scores.items()},
        "lengths": {name: _mean([len(t.split()) for row in rows for t in row]) for name, rows in samples.items()},
    }
    if config.task.reference_field:
        from rlhf.evaluation.summaries import summary_metrics

        metrics["summaries"] = {}
        for name, rows in samples.items():
            # Copying is measured against the whole document, as the paper does, not the part the query kept.
            flat = [(t, q.document or q.source or "", q.reference) for q, texts in zip(queries, rows) for t in texts]
            metrics["summaries"][name] = summary_metrics(*map(list, zip(*flat)))
    return metrics


def sample_rows(queries, samples, scores) -> list[dict]:
    return [{"query_id": q.id, "query": q.text, "reference": q.reference,
             "systems": {name: rows[i] for name, rows in samples.items()},
             "scores": {judge: {name: rows[i] for name, rows in per_system.items()} for judge, per_system in scores.items()}}
            for i, q in enumerate(queries)]


def _mean(values) -> Optional[float]:
    return sum(values) / len(values) if values else None


def queue_human_pairs(config, store, log=print) -> int:
    """Pairs (system vs zero-shot, random sides) for the Compare page; queued once per query and system."""
    queries, samples = sample_all(config, log)
    store.add_queries([{"id": q.id, "task": config.task.name, "prompt": q.text, "reference": q.reference, "split": "eval"}
                       for q in queries])
    queued = {(c.query_id, c.a if c.b == BASELINE else c.b) for c in store.comparisons()}
    rng = random.Random(config.seed)
    added = 0
    for name, rows in samples.items():
        for q, system_texts, base_texts in zip(queries, rows, samples[BASELINE]):
            if name == BASELINE or (q.id, name) in queued:
                continue
            for i in range(min(config.evaluation.human_pairs, len(system_texts), len(base_texts))):
                pair = [(name, system_texts[i]), (BASELINE, base_texts[i])]
                rng.shuffle(pair)  # which side is "a" says nothing about the system
                store.add_comparison(q.id, pair[0][0], pair[1][0], pair[0][1], pair[1][1])
                added += 1
    return added
