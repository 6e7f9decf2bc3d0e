"""The transformers Trainer, taught the best-of-n loss: one forward pass over all n samples of each label.

Everything else - the linear decay to 0, checkpoints and `resume_from_checkpoint`, logging through
`report_to`, the progress bar - is the Trainer's own machinery.
"""

from __future__ import annotations

import torch
from transformers import Trainer
from transformers.trainer_pt_utils import LengthGroupedSampler

from reward.data import full_sequences, label_length
from reward.loss import best_of_n_accuracy, best_of_n_loss, calibration_error, implied_pair_accuracy
from reward.model import backbone, pool, sequence_features
from rlhf.models.kv_cache import cache_keyword, returned_cache


class ChoiceDataset(torch.utils.data.Dataset):
    def __init__(self, features: list[dict]):
        self.features = features

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, i: int) -> dict:
        return self.features[i]


def batch_rewards(model, inputs: dict) -> torch.Tensor:
    """(batch, n) rewards of the n samples of each label."""
    return model.score(batch_features(model, inputs)).squeeze(-1)


def batch_features(model, inputs: dict) -> torch.Tensor:
    """(batch, n, d): the pooled hidden state the head reads, for the n samples of each label.

    The query is run once per label and its keys and values are shared by the n samples, which
    then run on top of it: 4 x 88 tokens per label become 64 + 4 x 24 at the paper's lengths, and
    the gradient through the query is summed over the samples exactly as the full forward would.
    """
    b, n, suffix_length = inputs["suffix_ids"].shape
    no_prefix = inputs["prefix_ids"].shape[1] == 0 or bool((inputs["prefix_mask"].sum(1) == 0).any())
    if no_prefix or getattr(model, "is_activation_checkpointing", False):
        # A label with no shared prefix, or checkpointing (which turns the cache off): one full forward.
        ids, mask, response = full_sequences(inputs)
        return sequence_features(model, ids, mask, response).view(b, n, -1)
    trunk = backbone(model)
    prefix_mask = inputs["prefix_mask"]
    prefix = trunk(input_ids=inputs["prefix_ids"], attention_mask=prefix_mask,
                   position_ids=(prefix_mask.cumsum(1) - 1).clamp(min=0), use_cache=True)
    cache = returned_cache(prefix)
    cache.batch_repeat_interleave(n)
    suffix_mask = inputs["suffix_mask"].view(b * n, suffix_length)
    start = prefix_mask.sum(1).repeat_interleave(n).unsqueeze(1)
    hidden = trunk(input_ids=inputs["suffix_ids"].view(b * n, suffix_length),
                   attention_mask=torch.cat([prefix_mask.repeat_interleave(n, dim=0), suffix_mask], dim=1),
                   position_ids=start + (suffix_mask.cumsum(1) - 1).clamp(min=0), use_cache=True,
                   **{cache_keyword(trunk): cache}).last_hidden_state
    return pool(model, hidden, suffix_mask, inputs["response_mask"].view(b * n, suffix_length)).view(b, n, -1)


class BestOfNTrainer(Trainer):
    def _get_train_sampler(self, train_dataset=None):
        """`group_by_length`: transformers' LengthGroupedSampler, told each label's length (the Trainer
        would look for an `input_ids` the labels do not have)."""
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        if self.args.train_sampling_strategy != "group_by_length" or not isinstance(dataset, ChoiceDataset):
            return super()._get_train_sampler(train_dataset)
        return LengthGroupedSampler(self.args.train_batch_size * self.args.gradient_accumulation_steps,
                                    lengths=[label_length(f) for f in dataset.features])

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        rewards = batch_rewards(model, inputs)
        loss = best_of_n_loss(rewards.float(), inputs["best"])
        return (loss, {"rewards": rewards}) if return_outputs else loss

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad():
            loss, outputs = self.compute_loss(model, inputs, return_outputs=True)
        if prediction_loss_only:
            return loss.detach(), None, None
        return loss.detach(), outputs["rewards"].detach().float(), inputs["best"]


def choice_metrics(rewards: torch.Tensor, best: torch.Tensor) -> dict:
    """Held-out best-of-n accuracy, implied pairwise accuracy, loss and calibration."""
    rewards, best = torch.as_tensor(rewards).float(), torch.as_tensor(best).long()
    return {
        "best_of_n_accuracy": best_of_n_accuracy(rewards, best),
        "chance_accuracy": 1.0 / rewards.shape[1],
        "pairwise_accuracy": implied_pair_accuracy(rewards, best),
        "loss": best_of_n_loss(rewards, best).item(),
        "calibration_error": calibration_error(rewards, best),
        "labels": int(rewards.shape[0]),
    }


def compute_metrics(eval_pred) -> dict:
    return choice_metrics(eval_pred.predictions, eval_pred.label_ids)
