"""Sampling continuations: the one function every stage uses to sample from a policy.

Queries are left-padded per batch; each batch draws `num_samples` continuations of each query
with its own seed (run seed + batch index), so results do not depend on what ran before. The pad
token is never sampled. With a task truncation rule, each response is cut after its first
truncation token at or after `truncate_after`, and responses without one are marked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from tqdm.auto import tqdm
from transformers import GenerationConfig

from rlhf.config import Config
from rlhf.tasks.queries import Query
from rlhf.tasks.truncation import truncate_responses, truncation_token_ids


@dataclass
class SamplingSettings:
    temperature: float = 0.7
    top_k: int = 0
    top_p: float = 1.0
    max_new_tokens: int = 24
    num_samples: int = 1
    seed: int = 0
    batch_size: int = 16
    truncate_token: Optional[str] = None
    truncate_after: int = 0


@dataclass
class Sample:
    query_id: str
    index: int
    text: str
    token_ids: list[int]
    truncated: bool


def generate(model, tokenizer, queries: list[Query], settings: SamplingSettings, progress: bool = True) -> list[list[Sample]]:
    """`settings.num_samples` continuations of each query, in query order."""
    stop_ids = truncation_token_ids(tokenizer, settings.truncate_token)
    results = []
    batches = range(0, len(queries), settings.batch_size)
    bar = tqdm(total=len(queries) * settings.num_samples, desc="sampling", unit="sample", disable=not progress)
    for number, start in enumerate(batches):
        batch = queries[start : start + settings.batch_size]
        responses = _sample_batch(model, tokenizer, batch, settings, seed=settings.seed + number)
        responses, found = truncate_responses(responses, stop_ids, settings.truncate_after, tokenizer.pad_token_id)
        for row, (ids, ok) in enumerate(zip(responses.tolist(), found.tolist())):
            query = batch[row // settings.num_samples]
            if row % settings.num_samples == 0:
                results.append([])
            kept = [t for t in ids if t != tokenizer.pad_token_id]
            text = tokenizer.decode(kept, skip_special_tokens=True)
            if settings.truncate_token == "\n":
                # Blank lines before a summary (instruct models write "TL;DR:\n\n...") say nothing and
                # push it down the labeler's page; the token ids keep them, as the policy sampled them.
                text = text.lstrip()
            results[-1].append(Sample(query.id, row % settings.num_samples, text, kept, truncated=ok))
        bar.update(len(batch) * settings.num_samples)
    bar.close()
    return results


@torch.no_grad()
def _sample_batch(model, tokenizer, batch: list[Query], settings: SamplingSettings, seed: int) -> torch.Tensor:
    """Response token ids, shape (len(batch) * num_samples, max_new_tokens), padded with pad_token_id."""
    encoded = tokenizer.pad({"input_ids": [q.input_ids for q in batch]}, padding=True, return_tensors="pt")
    torch.manual_seed(seed)
    return sample_tokens(model, encoded["input_ids"].to(model.device), encoded["attention_mask"].to(model.device),
                         settings, tokenizer.pad_token_id, tokenizer.eos_token_id).cpu()


@torch.no_grad()
def sample_tokens(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, settings: SamplingSettings,
                  pad_token_id: int, eos_token_id: Optional[int]) -> torch.Tensor:
    """Sampled response ids of left-padded queries, (rows * num_samples, max_new_tokens), pad after EOS."""
    config = GenerationConfig(
        do_sample=True,
        temperature=settings.temperature,
        top_k=settings.top_k,
        top_p=settings.top_p,
        max_new_tokens=settings.max_new_tokens,
        num_return_sequences=settings.num_samples,
        pad_token_id=pad_token_id,
        eos_token_id=eos_token_id,
        suppress_tokens=[pad_token_id],
    )
    # generate() fills unset fields from model.generation_config; a neutral one stops a checkpoint's
    # repetition penalty or n-gram ban from changing what the policy samples.
    saved, model.generation_config = model.generation_config, GenerationConfig()
    try:
        output = model.generate(input_ids=input_ids, attention_mask=attention_mask, generation_config=config)
    finally:
        model.generation_config = saved
    responses = output[:, input_ids.shape[1] :]
    if responses.shape[1] < settings.max_new_tokens:
        pad = responses.new_full((responses.shape[0], settings.max_new_tokens - responses.shape[1]), pad_token_id)
        responses = torch.cat([responses, pad], dim=1)
    return responses


def sampling_settings(config: Config) -> SamplingSettings:
    """The task's sampling settings, with the config's `generation` section's overrides."""
    task, gen = config.task, config.generation
    pick = lambda value, default: default if value is None else value
    return SamplingSettings(
        temperature=pick(gen.temperature, task.temperature),
        top_k=pick(gen.top_k, task.top_k),
        top_p=pick(gen.top_p, task.top_p),
        max_new_tokens=pick(gen.max_new_tokens, task.response_length),
        num_samples=gen.num_samples,
        seed=config.seed,
        batch_size=gen.batch_size,
        truncate_token=task.truncate_token if gen.truncate else None,
        truncate_after=task.truncate_after,
    )
