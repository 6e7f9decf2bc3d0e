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
from rlhf.models.kv_cache import returned_cache
from rlhf.tasks.queries import Query
from rlhf.tasks.truncation import truncate_responses, truncation_token_ids
from rlhf.token_sampler import sampling_processors


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
    bf16: bool = False  # sample under bf16 autocast (`with_precision` decides it for a model)


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
        with torch.autocast(model.device.type, dtype=torch.bfloat16, enabled=settings.bf16):
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
    """Sampled response ids of left-padded queries, (rows * num_samples, max_new_tokens), pad after EOS.

    With several samples per query the query is read once: its cache is repeated for each sample,
    where generate() would read every copy (at 64+24 tokens and 4 samples, most of the work).
    """
    copies = settings.num_samples
    cache = query_cache(model, input_ids, attention_mask, copies) if copies > 1 else None
    # Each query's samples side by side; without a cache generate() reads every copy itself.
    input_ids, attention_mask = input_ids.repeat_interleave(copies, 0), attention_mask.repeat_interleave(copies, 0)
    output = _generate(model, input_ids, attention_mask, _generation_config(settings, pad_token_id, eos_token_id),
                       settings, cache=cache)
    return _pad_to(output[:, input_ids.shape[1] :], settings.max_new_tokens, pad_token_id)


@dataclass
class SampledStates:
    """What the policy computed while sampling, one row per query: the rollout needs no second pass."""

    responses: torch.Tensor  # (B, R) pad after EOS
    logits: torch.Tensor  # (B, R, vocab) raw logits (before temperature and processors) that sampled each token
    hidden: torch.Tensor  # (B, R, hidden) the last hidden state (the LM head's input) at those positions


@torch.no_grad()
def sample_with_states(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, settings: SamplingSettings,
                       pad_token_id: int, eos_token_id: Optional[int]) -> SampledStates:
    """One sample per query, with the logits and last hidden states of each sampling step.

    The hidden state is read at the LM head's input (a pre-hook), so the value head sees exactly
    what it sees in training (`output.hidden_states[-1]`); steps after every row ended are zero.
    """
    steps: list[torch.Tensor] = []
    hook = model.get_output_embeddings().register_forward_pre_hook(lambda _, args: steps.append(args[0][:, -1]))
    try:
        config = _generation_config(settings, pad_token_id, eos_token_id)
        config.output_logits = config.return_dict_in_generate = True
        output = _generate(model, input_ids, attention_mask, config, settings)
    finally:
        hook.remove()
    length = settings.max_new_tokens
    responses = _pad_to(output.sequences[:, input_ids.shape[1] :], length, pad_token_id)
    return SampledStates(responses, _stack_steps(output.logits, length), _stack_steps(steps[: len(output.logits)], length))


def query_cache(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, copies: int):
    """The KV cache of all but each query's last token, repeated `copies` times row by row; None
    where the model's cache cannot be repeated (generate() then reads every copy itself)."""
    if input_ids.shape[1] < 2:
        return None
    positions = (attention_mask.long().cumsum(-1) - 1).masked_fill(attention_mask == 0, 1)  # as generate() counts them
    output = model(input_ids=input_ids[:, :-1], attention_mask=attention_mask[:, :-1], position_ids=positions[:, :-1],
                   use_cache=True, logits_to_keep=1)
    cache = returned_cache(output)
    if not hasattr(cache, "batch_repeat_interleave"):
        return None
    cache.batch_repeat_interleave(copies)
    return cache


def _generation_config(settings: SamplingSettings, pad_token_id: int, eos_token_id: Optional[int]) -> GenerationConfig:
    """Greedy over the scores `rlhf.token_sampler` leaves: its processors draw the samples."""
    return GenerationConfig(
        do_sample=False,
        max_new_tokens=settings.max_new_tokens,
        pad_token_id=pad_token_id,
        eos_token_id=eos_token_id,
        suppress_tokens=[pad_token_id],
    )


def _generate(model, input_ids, attention_mask, config: GenerationConfig, settings: SamplingSettings, cache=None):
    # generate() fills unset fields from model.generation_config; a neutral one stops a checkpoint's
    # repetition penalty or n-gram ban from changing what the policy samples.
    saved, model.generation_config = model.generation_config, GenerationConfig()
    extra = {"cache": cache} if cache is not None else {}
    processors = sampling_processors(settings.temperature, settings.top_k, settings.top_p)
    try:
        return model.generate(input_ids=input_ids, attention_mask=attention_mask, generation_config=config,
                              logits_processor=processors, **extra)
    finally:
        model.generation_config = saved


def _pad_to(responses: torch.Tensor, length: int, pad_token_id: int) -> torch.Tensor:
    """Generation stops when every row has ended: pad the missing columns."""
    if responses.shape[1] < length:
        responses = torch.nn.functional.pad(responses, (0, length - responses.shape[1]), value=pad_token_id)
    return responses


def _stack_steps(steps, length: int) -> torch.Tensor:
    """(B, length, ...) from one (B, ...) tensor per step, zeros for the steps never taken."""
    stacked = torch.stack(list(steps), dim=1)
    missing = length - stacked.shape[1]
    return torch.cat([stacked, stacked.new_zeros(stacked.shape[0], missing, *stacked.shape[2:])], 1) if missing else stacked


def with_precision(settings: SamplingSettings, setting: Optional[bool], stage: str, model, query_length: int,
                   log=print) -> SamplingSettings:
    """`settings` with the precision `setting` names, or (unset) the one measured faster for this model."""
    from dataclasses import replace

    from rlhf.models.precision import forward_precision

    return replace(settings, bf16=forward_precision(setting, stage, model, settings.batch_size, query_length, log))


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
