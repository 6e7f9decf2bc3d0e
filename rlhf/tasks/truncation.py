"""The paper's truncation rule: a response ends at the task's stop token after a minimum length."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    import torch


def truncation_token_ids(tokenizer, truncate_token: Optional[str]) -> list[int]:
    """Ids of every vocabulary token whose text contains the truncation text.

    The paper matched one GPT-2 id ('.' = 13, '\\n' = 198). Other tokenizers merge the period into
    tokens such as '."' or '...', so any token containing the text ends the response.
    """
    if not truncate_token:
        return []
    vocab = tokenizer.get_vocab()
    special = set(tokenizer.all_special_ids)
    ids = [i for i in vocab.values() if i not in special and truncate_token in tokenizer.decode([i])]
    return sorted(ids)


def truncate_responses(responses: "torch.Tensor", stop_ids: list[int], truncate_after: int, pad_id: int):
    """Cut each response after its first stop token at position >= truncate_after.

    Returns the cut responses (padding after the stop token) and a bool per response that is
    False where no stop token was found (the caller gives those `penalty_reward`).
    """
    import torch

    if not stop_ids:
        return responses, torch.ones(responses.shape[0], dtype=torch.bool, device=responses.device)
    is_stop = torch.isin(responses, torch.tensor(stop_ids, device=responses.device))
    is_stop[:, :truncate_after] = False
    found = is_stop.any(dim=1)
    # Positions strictly after the first stop token: the running count of stops before them is >= 1.
    after_stop = (torch.cumsum(is_stop.long(), dim=1) - is_stop.long()) > 0
    return responses.masked_fill(after_stop, pad_id), found
