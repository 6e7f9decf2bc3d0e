"""The reward model's features read from the reference pass, when the reward's backbone is the reference's.

A reward head fitted on a frozen backbone (`reward.train_backbone: false`, the quick start's and the
summarisation config's setting) reads the base model's hidden states, and the KL reference of a policy
trained from the base model is that same base model. A rollout then computes the same trunk twice
over the same tokens: once in the reference pass, once in the reward model's own forward pass. Here
the reference pass keeps the output of the reward's last block, and the reward's head reads it.

Causal attention makes the reuse exact: a position's hidden state depends on the tokens up to it
only, so the states the reference computes over the sampled response equal, up to the cut, those
the reward model computes over the cut response (padding after it), and neither pooling reads a
position past the cut. It applies only where the reward's embeddings, blocks and final norm equal
the reference's weight for weight (`shared_trunk` checks every one, then a probe); a trained backbone,
another model, a reward model on the supervised model's reference or LoRA's renamed layers get None,
and the reward model runs its own pass.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Optional

import torch
from torch import nn

from reward.model import backbone, pool, sequence_features

FINAL_NORMS = ("norm", "ln_f", "final_layer_norm", "final_layernorm")


@dataclass
class SharedTrunkReward:
    """A reward model whose backbone is the reference's embeddings and first `depth` blocks, plus its own final norm."""

    model: nn.Module
    depth: int
    blocks: str  # the name of the block list in both trunks
    final_norm: nn.Module

    @contextmanager
    def capture(self, reference: nn.Module) -> Iterator[list]:
        """While open, the reference's forward passes leave the output of block `depth` in the yielded list."""
        outputs: list[torch.Tensor] = []
        block = backbone(reference).get_submodule(self.blocks)[self.depth - 1]
        handle = block.register_forward_hook(lambda module, args, out: outputs.append(out[0] if isinstance(out, tuple) else out))
        try:
            yield outputs
        finally:
            handle.remove()

    def features(self, block_output: torch.Tensor, attention_mask: torch.Tensor,
                 response_mask: Optional[torch.Tensor]) -> torch.Tensor:
        """(batch, d): what the reward's head reads, from the block output over the same columns as the masks."""
        return pool(self.model, self.final_norm(block_output), attention_mask, response_mask)


def shared_trunk(reward_model: nn.Module, reference: nn.Module) -> Optional[SharedTrunkReward]:
    """The reward model as a `SharedTrunkReward` of `reference`, or None where its trunk is not the reference's."""
    mine, theirs = backbone(reward_model), getattr(reference, getattr(reference, "base_model_prefix", ""), None)
    if theirs is None or type(mine) is not type(theirs) or not _same_weights(mine, theirs):
        return None
    blocks = next((name for name, child in mine.named_children() if isinstance(child, nn.ModuleList)), None)
    norm = next((getattr(mine, name) for name in FINAL_NORMS if isinstance(getattr(mine, name, None), nn.Module)), None)
    if blocks is None or norm is None or len(getattr(mine, blocks)) > len(getattr(theirs, blocks)):
        return None
    shared = SharedTrunkReward(reward_model, len(getattr(mine, blocks)), blocks, norm)
    return shared if _probe_agrees(shared, reference) else None


def _same_weights(mine: nn.Module, theirs: nn.Module) -> bool:
    """Every parameter and buffer of `mine` is in `theirs` under the same name, equal in shape, dtype and value."""
    their_tensors = {**dict(theirs.named_parameters()), **dict(theirs.named_buffers())}
    for name, tensor in [*mine.named_parameters(), *mine.named_buffers()]:
        other = their_tensors.get(name)
        if other is None or other.shape != tensor.shape or other.dtype != tensor.dtype or not torch.equal(other, tensor):
            return False
    return True


@torch.no_grad()
def _probe_agrees(shared: SharedTrunkReward, reference: nn.Module) -> bool:
    """Equal weights still leave the configs (norm epsilon, rotary settings) to differ: compare a short
    left-padded batch both ways."""
    device = next(shared.model.parameters()).device
    vocab = min(shared.model.get_input_embeddings().num_embeddings, reference.get_input_embeddings().num_embeddings)
    ids = torch.randint(vocab, (2, 12), generator=torch.Generator().manual_seed(0)).to(device)
    mask = torch.ones_like(ids)
    mask[0, :5] = 0
    response = torch.zeros_like(ids)
    response[:, -4:] = 1
    positions = (mask.cumsum(1) - 1).clamp(min=0)
    with shared.capture(reference) as outputs:
        reference(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=False, logits_to_keep=1)
    reused = shared.features(outputs[0], mask, response)
    own = sequence_features(shared.model, ids, mask, response)
    return torch.allclose(reused.float(), own.float(), rtol=1e-4, atol=1e-5)
