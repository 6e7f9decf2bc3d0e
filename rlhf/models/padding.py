"""Padding columns: a column that is padding in every row of a batch changes no output but costs as
much compute as a real one, so the forward passes drop such columns before they run.

Queries are left-padded to the longest in their batch (or rollout chunk), and a training
minibatch drawn from a rollout keeps that width although its own longest query may be much shorter:
with documents of very different lengths (summaries), most of a pass can be padding. Positions
count real tokens only (`position_ids` from the attention mask), so the result is the same.
"""

from __future__ import annotations

import torch


def real_columns(mask: torch.Tensor, *, trailing: bool = True) -> slice:
    """The columns from the first one holding a real token in any row to the last (all, when none
    does); with `trailing=False` the columns after the last are kept, so positions counted from the
    end stay where they are."""
    columns = torch.nonzero(mask.any(0)).flatten()
    if columns.numel() == 0:
        return slice(None)
    return slice(int(columns[0]), int(columns[-1]) + 1 if trailing else None)
