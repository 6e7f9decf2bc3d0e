"""The transformers Trainer, taught the best-of-n loss: one forward pass over all n samples of each label.

Everything else - the linear decay to 0, checkpoints and `resume_from_checkpoint`, logging through
`report_to`, the progress bar - is the Trainer's own machinery.
"""

from __future__ import annotations

import torch
from transformers import Trainer

from reward.loss import best_of_n_accuracy, best_of_n_loss, calibration_error, implied_pair_accuracy
from reward.model import sequence_rewards


class ChoiceDataset(torch.utils.data.Dataset):
    def __init__(self, features: list[dict]):
        self.features = features

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, i: int) -> dict:
        return self.features[i]


def batch_rewards(model, inputs: dict) -> torch.Tensor:
    """(batch, n) rewards of the n samples of each label, in one forward pass."""
    b, n, length = inputs["input_ids"].shape
    flat = sequence_rewards(model, inputs["input_ids"].view(b * n, length), inputs["attention_mask"].view(b * n, length))
    return flat.view(b, n)


class BestOfNTrainer(Trainer):
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
