"""Sample batches for labelers: k continuations of each of N train queries, into the label store.

Queries are drawn from the train split in a seeded random order. Those that already have a batch
from the same policy and round are passed over, so a run that was cut off resumes where it
stopped (each generation batch is stored as soon as it is sampled) and a second call adds N more.
Each chunk is claimed in the store first, so two samplers at once never sample a query twice.
"""

from __future__ import annotations

import random
from contextlib import suppress
from dataclasses import asdict

from tqdm.auto import tqdm

from rlhf.config.run_config import Config
from rlhf.config.secrets import mask_url
from rlhf.generation import generate
from rlhf.labeling.store import DatabaseError, LabelStore
from rlhf.labeling.store_claims import claim_owner
from rlhf.tasks.queries import Query


def policy_name(config: Config) -> str:
    """How batches name their policy: the trained policy directory, else the base model."""
    return config.labeling.policy or config.model.name


def pick_queries(queries: list[Query], done: set[str], n: int, seed: int) -> list[Query]:
    """`n` queries not yet sampled, in an order fixed by the seed."""
    order = list(range(len(queries)))
    random.Random(seed).shuffle(order)
    fresh = [queries[i] for i in order if queries[i].id not in done]
    return fresh[:n]


def store_queries(store: LabelStore, config: Config, queries: list[Query]) -> None:
    store.add_queries({"id": q.id, "task": config.task.name, "prompt": q.text, "reference": q.reference,
                       "split": "train", "token_ids": q.input_ids} for q in queries)


def sample_for_labeling(config: Config, store: LabelStore, model, tokenizer, queries: list[Query], n: int,
                        log=print) -> int:
    """Sample and store batches for up to `n` new queries; returns how many batches were stored.

    Each chunk of queries is claimed in the store before it is sampled (rlhf/labeling/store_claims.py),
    so samplers running at once on one store share out the queries instead of sampling the same ones.
    """
    from rlhf.generation import sampling_settings, with_precision

    policy, round_ = policy_name(config), config.labeling.round
    order = pick_queries(queries, store.sampled_query_ids(policy, round_), len(queries), config.seed)
    if not order:
        log(f"every train query already has a batch from {policy} (round {round_}); nothing to sample")
        return 0
    settings = sampling_settings(config)
    settings.num_samples = config.labeling.samples_per_query
    settings = with_precision(settings, config.generation.bf16, "generation", model, config.task.query_length, log)
    owner, stored, position = claim_owner(), 0, 0
    bar = tqdm(total=min(n, len(order)), desc=f"sampling {settings.num_samples} per query", unit="query")
    try:
        while stored < n and position < len(order):
            ids = store.claim_queries([q.id for q in order[position:]], policy, round_, owner, min(settings.batch_size, n - stored))
            if not ids:
                log(f"stopping: the {len(order) - position} train queries left are claimed or sampled by another sampler")
                break
            claimed = set(ids)
            part = [q for q in order[position:] if q.id in claimed]
            position = order.index(part[-1], position) + 1
            # A distinct seed per chunk keeps a resumed run from repeating the samples of the first chunk.
            settings.seed = config.seed + stored
            _sample_chunk(config, store, model, tokenizer, part, settings, policy)
            store.release_claims(owner)  # the batches are stored: the store now passes these queries over
            stored += len(part)
            bar.update(len(part))
    finally:
        bar.close()
        with suppress(DatabaseError):  # an error that stopped sampling is what the caller should see
            store.release_claims(owner)
    return stored


def _sample_chunk(config: Config, store: LabelStore, model, tokenizer, part: list[Query], settings, policy: str) -> None:
    store_queries(store, config, part)
    results = generate(model, tokenizer, part, settings, progress=False)
    for query, samples in zip(part, results):
        store.add_batch(query.id, [s.text for s in samples], policy=policy, round=config.labeling.round,
                        settings=_settings_record(settings, samples), seed=settings.seed,
                        sample_token_ids=[s.token_ids for s in samples])


def sample_round(config: Config, store: LabelStore, n: int, log=print) -> int:
    """Sample `n` new batches from the round's policy (labeling.policy, else the base model)."""
    from dataclasses import replace

    from rlhf.models.loading import load_model_for
    from rlhf.tasks.queries import queries_for

    # The config keeps naming the base model; the samples come from the trained policy when one is named.
    source = str(config.model_dir(config.labeling.policy)) if config.labeling.policy else None  # `sft`: the run's own
    policy = replace(config, model=replace(config.model, name=source)) if source else config
    model, tokenizer = load_model_for(policy, log)
    queries = queries_for(config, tokenizer, "train", log=log)
    stored = sample_for_labeling(config, store, model, tokenizer, queries, n, log=log)
    log(f"{stored} new batches; {store.count_batches()} in {mask_url(config.database_url)}")
    return stored


def _settings_record(settings, samples) -> dict:
    record = asdict(settings)
    record["has_stop"] = [s.truncated for s in samples]
    return record
