"""The scalar head fitted alone on a frozen backbone (`reward.train_backbone: false`).

With a hundred labels, fine-tuning 135M weights for one epoch barely moves the randomly
initialised head and the reward does not track the labeler (held-out best-of-4 accuracy at
chance). A linear head on the frozen backbone's mean-pooled response features, fitted to
convergence with an L2 penalty, does (measured in `bench/reward_pooling.py`). The features are
computed once; the fit is a full-batch L-BFGS over standardised features, folded back into the
head's plain weights so the saved model is an ordinary reward model.
"""

from __future__ import annotations

import torch
from tqdm.auto import tqdm

from reward.data import label_length
from reward.loss import best_of_n_loss
from reward.trainer import batch_features


@torch.no_grad()
def label_features(model, features: list[dict], collate, batch_size: int, bf16: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(labels, n, d) pooled features of each label's samples, and (labels,) chosen indices, in the order given.

    With `bf16` the backbone runs under bf16 autocast; the features come back in fp32 either way, and
    the head is fitted in fp32.

    The labels are run in order of length, so that a batch pads each label only to others of about its
    length (documents of 100 to 500 tokens padded to the batch's longest wasted half the columns); a
    label's features do not depend on its batch, so the order changes nothing else.
    """
    model.eval()
    device = next(model.parameters()).device
    order = sorted(range(len(features)), key=lambda i: label_length(features[i]))
    out, best = [], []
    for start in tqdm(range(0, len(order), batch_size), desc="reward features", unit="batch"):
        batch = {k: v.to(device) for k, v in collate([features[i] for i in order[start : start + batch_size]]).items()}
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            out.append(batch_features(model, batch).float().cpu())
        best.append(batch["best"].cpu())
    back = torch.empty(len(order), dtype=torch.long)
    back[torch.tensor(order, dtype=torch.long)] = torch.arange(len(order))
    return torch.cat(out)[back], torch.cat(best)[back]


def fit_head(linear: torch.nn.Linear, features: torch.Tensor, best: torch.Tensor, l2: float, max_iter: int = 500) -> float:
    """Set `linear` to the L2-penalised best-of-n fit on these features; returns the training loss.

    The penalty is on the weights of standardised features, so one `l2` suits any backbone's scale.
    """
    flat = features.reshape(-1, features.shape[-1])
    mean, std = flat.mean(0), flat.std(0).clamp(min=1e-6)
    x = (features - mean) / std
    w = torch.zeros(features.shape[-1], requires_grad=True)
    optimizer = torch.optim.LBFGS([w], max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = best_of_n_loss(x @ w, best) + l2 * w.square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        linear.weight.copy_((w / std).to(linear.weight)[None])
        if linear.bias is not None:  # a constant: the normalisation that follows sets the offset
            linear.bias.fill_(-(w * mean / std).sum().item())
        return best_of_n_loss(x @ w, best).item()
