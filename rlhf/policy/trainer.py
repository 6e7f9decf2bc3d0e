"""TRL's PPOTrainer with the paper's reward, KL control, value layout, checkpoints and resume.

TRL 1.12's `trl.experimental.ppo.PPOTrainer` sets up everything here: the accelerator (data
parallel, DeepSpeed), LoRA through peft with the adapter-off reference, the optimizer and linear
schedule, the callback handler, progress bar and `report_to` integrations. Its `train()` loop is
replaced, because four things the paper needs cannot be reached from outside it:
  - the truncation rule and penalty (`rlhf.policy.rollout`), where TRL cuts at the first stop token
    anywhere and subtracts a penalty only for a missing EOS;
  - the paper's value layout, a head on the policy's own trunk (`rlhf.policy.value_head`), which is
    swapped in through `create_optimizer_and_scheduler`, the one hook TRL calls between building
    its two-trunk wrapper and handing it to the accelerator;
  - the adaptive KL controller, fed the gathered KL after every update;
  - checkpoints holding the value model, optimizer, schedule, beta and position, and `resume`.
The loop itself follows CleanRL's ppo.py: rollout, advantages, epochs of clipped updates.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import warnings
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Callable, Iterator, Optional

import torch

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")  # we pin trl==1.12.0 knowingly
# TRL 1.12 reads the old attribute name that transformers 5 deprecates; nothing for users to act on.
warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)
from tqdm.auto import tqdm
from transformers import PreTrainedModel
from transformers.trainer_callback import ProgressCallback
from trl.experimental.ppo import PPOTrainer
from trl.models.utils import unwrap_model_for_generation

from rlhf.errors import RLHFError
from rlhf.generation import SamplingSettings
from rlhf.policy.advantages import generalized_advantages, kl_penalized_rewards, masked_mean
from rlhf.policy.reference_features import shared_trunk
from rlhf.policy.rollout import ResponseRule, Rollout, collect, length_order
from rlhf.policy.value_head import SharedTrunkPolicyValue, ValueHead, entropy, policy_and_values, token_logprobs

STATE_FILE = "ppo_state.json"


class PaperPPOTrainer(PPOTrainer):
    def __init__(self, *, args, processing_class, model, reward_model, train_dataset, sampling: SamplingSettings,
                 rule: ResponseRule, kl_controller, value_model=None, ref_model=None, eval_dataset=None,
                 peft_config=None, callbacks=None, micro_batch_size: Optional[int] = None,
                 rollout_batch_size: Optional[int] = None, sample_every: int = 0, samples_file: Optional[Path] = None,
                 judge: Optional[Callable[[str, str], float]] = None):
        self.shared_value = value_model is None
        if self.shared_value:
            value_model = ValueHead(model.config.hidden_size).to(model.dtype)
        self.sampling, self.rule, self.kl_controller = sampling, rule, kl_controller
        self.micro_batch_size, self.rollout_batch_size = micro_batch_size, rollout_batch_size
        self.sample_every, self.samples_file = sample_every, samples_file
        self.judge = judge  # the task's simulated labeler, if any: a reading of progress the policy cannot game
        super().__init__(args=args, processing_class=processing_class, model=model, ref_model=ref_model,
                         reward_model=reward_model, train_dataset=train_dataset, value_model=value_model,
                         eval_dataset=eval_dataset if eval_dataset is not None else train_dataset,
                         peft_config=peft_config, callbacks=callbacks)
        self.reward_model.eval()
        # A frozen-backbone reward on the reference's own trunk reads the reference pass instead of its own.
        self.scorer = shared_trunk(self.reward_model, self.ref_model) if self._may_share_trunk() else None
        self.accelerator.register_for_checkpointing(self.lr_scheduler)
        if not args.disable_tqdm:
            self.remove_callback(ProgressCallback)
            self.add_callback(PPOProgressCallback)

    def create_optimizer_and_scheduler(self, num_training_steps: int):
        if self.shared_value:  # replace TRL's two-trunk wrapper before the optimizer sees its parameters
            self.model = SharedTrunkPolicyValue(self.policy_model, self.value_model)
        super().create_optimizer_and_scheduler(num_training_steps)

    # ---- the loop -------------------------------------------------------------------------------

    def train(self, resume_from: Optional[str | Path] = None):
        args, acc = self.args, self.accelerator
        done = self._load_checkpoint(resume_from) if resume_from else 0
        if resume_from and self.samples_file is not None and self.accelerator.is_main_process:
            trim_samples(self.samples_file, done)  # the updates after the checkpoint run again
        self.state.max_steps = args.num_total_batches
        self.state.logging_steps, self.state.save_steps = args.logging_steps, args.save_steps
        self.control = self.callback_handler.on_train_begin(args, self.state, self.control)
        batches = self._query_batches(skip=done)
        self._started, self._episodes_this_run = time.perf_counter(), 0
        for update in range(done + 1, args.num_total_batches + 1):
            self._update(update, next(batches)["input_ids"].to(acc.device))
            if update % args.save_steps == 0 or update == args.num_total_batches:
                self.save_checkpoint(update)
        self.control = self.callback_handler.on_train_end(args, self.state, self.control)

    def _update(self, update: int, queries: torch.Tensor) -> None:
        args = self.args
        started = time.perf_counter()
        torch.manual_seed(args.seed + 1_000_003 * update + self.accelerator.process_index)  # resumable sampling
        self.model.eval()
        with unwrap_model_for_generation(self.model, self.accelerator,
                                         gather_deepspeed3_params=args.ds3_gather_for_generation) as unwrapped:
            rollout = collect(unwrapped, self._reference, self.scorer or self.reward_model, queries, self.sampling, self.rule,
                              self.processing_class.pad_token_id, self.processing_class.eos_token_id,
                              self.rollout_batch_size)
        rollout_seconds = time.perf_counter() - started
        beta = self.kl_controller.value
        rewards, kl = kl_penalized_rewards(rollout.scores, rollout.logprobs, rollout.ref_logprobs, rollout.mask, beta)
        advantages, returns = generalized_advantages(rewards, rollout.values, rollout.mask, args.gamma, args.lam)
        self.model.train()
        stats = self._ppo_epochs(update, rollout, advantages, returns)
        seconds = time.perf_counter() - started
        self.state.global_step, self.state.episode = update, update * args.batch_size
        self.state.epoch = self.state.episode / self.train_dataset_len
        self._episodes_this_run += args.batch_size
        metrics = self._metrics(rollout, kl, rewards, stats, beta, seconds, rollout_seconds)
        self.kl_controller.update(metrics["objective/kl"], args.batch_size)
        if update % args.logging_steps == 0 or update == args.num_total_batches:
            self.log(metrics)
        self.lr_scheduler.step()
        self.control = self.callback_handler.on_step_end(args, self.state, self.control)
        if self.sample_every and update % self.sample_every == 0:
            self._record_samples(update, rollout)

    def _query_batches(self, skip: int) -> Iterator[dict]:
        """This process's share of a fresh seeded permutation per pass, so a resume replays the same order."""
        acc, size, n = self.accelerator, self.args.local_batch_size, self.train_dataset_len
        per_pass = n // (size * acc.num_processes)
        if per_pass == 0:
            raise RLHFError(f"{n} training queries are fewer than one batch of {size} x {acc.num_processes} processes: "
                            "use more prompts or a smaller policy.batch_size")
        index = 0
        while True:
            order = torch.randperm(n, generator=torch.Generator().manual_seed(self.args.seed + index // per_pass))
            start = (index % per_pass) * size * acc.num_processes + acc.process_index * size
            if index >= skip:
                rows = self.train_dataset[order[start : start + size].tolist()]
                yield self.data_collator([{"input_ids": ids} for ids in rows["input_ids"]])
            index += 1

    def _may_share_trunk(self) -> bool:
        return self.ref_model is not None and isinstance(self.reward_model, PreTrainedModel)

    @contextmanager
    def _reference(self):
        """The frozen reference: the separate copy, or the policy with its LoRA adapter off."""
        if self.ref_model is not None:
            yield self.ref_model
            return
        policy = self.accelerator.unwrap_model(self.model).policy
        with policy.disable_adapter():
            yield policy

    def _ppo_epochs(self, update: int, r: Rollout, advantages: torch.Tensor, returns: torch.Tensor) -> dict:
        args, acc = self.args, self.accelerator
        n = r.responses.shape[0]
        mini = n // args.num_mini_batches
        micro = self.micro_batch_size or mini
        generator = torch.Generator().manual_seed(args.seed + update)
        stats: dict[str, list[float]] = {}
        for _ in range(args.num_ppo_epochs):
            order = torch.randperm(n, generator=generator).to(r.responses.device)
            for start in range(0, n, mini):
                batch = by_query_length(order[start : start + mini], r.queries, self.processing_class.pad_token_id)
                for m in range(0, mini, micro):
                    last = m + micro >= mini
                    with nullcontext() if last else acc.no_sync(self.model):
                        loss, step_stats = self._loss(r, advantages, returns, batch[m : m + micro])
                        acc.backward(loss * micro / mini)
                    for key, value in step_stats.items():
                        stats.setdefault(key, []).append(value)
                self.optimizer.step()
                self.optimizer.zero_grad()
        return {k: sum(v) / len(v) for k, v in stats.items()}

    def _loss(self, r: Rollout, advantages, returns, idx) -> tuple[torch.Tensor, dict]:
        args = self.args
        mask = r.mask[idx]
        logits, vpred = policy_and_values(self.model, r.query_responses[idx], self.processing_class.pad_token_id,
                                          r.responses.shape[1])
        new_logprobs = token_logprobs(logits, r.responses[idx], args.temperature)
        log_ratio = (new_logprobs - r.logprobs[idx]).masked_fill(~mask, 0.0)
        ratio = log_ratio.exp()
        adv = advantages[idx]
        pg_losses = torch.max(-adv * ratio, -adv * ratio.clamp(1 - args.cliprange, 1 + args.cliprange))
        pg_loss = masked_mean(pg_losses, mask)
        vpred = vpred.float()
        old_values = r.values[idx]
        vclipped = old_values + (vpred - old_values).clamp(-args.cliprange_value, args.cliprange_value)
        vf_losses = torch.max((vpred - returns[idx]) ** 2, (vclipped - returns[idx]) ** 2)
        vf_loss = 0.5 * masked_mean(vf_losses, mask)
        loss = pg_loss + args.vf_coef * vf_loss
        with torch.no_grad():
            stats = {
                "loss/policy": pg_loss.item(),
                "loss/value": vf_loss.item(),
                "policy/clipfrac": masked_mean((ratio - 1).abs() > args.cliprange, mask).item(),
                "policy/approxkl": (0.5 * masked_mean(log_ratio**2, mask)).item(),
                "policy/entropy": masked_mean(entropy(logits.detach(), args.temperature), mask).item(),
                "val/clipfrac": masked_mean((vpred - old_values).abs() > args.cliprange_value, mask).item(),
            }
        return loss, stats

    # ---- reporting ------------------------------------------------------------------------------

    def _metrics(self, r: Rollout, kl, rewards, stats: dict, beta: float, seconds: float, rollout_seconds: float) -> dict:
        acc = self.accelerator
        mean = lambda t: acc.gather(t.float().reshape(-1).contiguous()).mean().item()
        length = r.mask.sum(1).float()
        elapsed = time.perf_counter() - self._started
        tokens = r.queries.shape[1] + r.responses.shape[1]
        episodes_per_second = self._episodes_this_run / elapsed  # args.batch_size counts every process
        return {
            "objective/scores": mean(r.scores),
            "objective/raw_scores": mean(r.raw_scores),
            "objective/penalized": mean(~r.found_stop),
            "objective/kl": mean(kl.sum(1)),
            "objective/beta": beta,
            "objective/rlhf_reward": mean(rewards.sum(1)),
            **({"objective/labeler_score": mean(self._judged(r))} if self.judge else {}),
            **{k: _mean_across(acc, v) for k, v in stats.items()},
            "response/length": mean(length),
            "eps": episodes_per_second,
            "tokens_per_s": episodes_per_second * tokens,
            "time/update_s": seconds,
            "time/rollout_s": rollout_seconds,
            "lr": self.lr_scheduler.get_last_lr()[0],
            "episode": self.state.episode,
        }

    def _judged(self, r: Rollout) -> torch.Tensor:
        tok = self.processing_class
        queries = tok.batch_decode(r.queries, skip_special_tokens=True)
        responses = tok.batch_decode(r.cut_responses(tok.pad_token_id), skip_special_tokens=True)
        return torch.tensor([self.judge(q, a) for q, a in zip(queries, responses)], device=r.scores.device)

    def _record_samples(self, update: int, r: Rollout, rows: int = 4) -> None:
        if not self.accelerator.is_main_process:
            return
        tok = self.processing_class
        cut = r.cut_responses(tok.pad_token_id)
        records = [{"update": update, "query": tok.decode(r.queries[i], skip_special_tokens=True),
                    "response": tok.decode(cut[i], skip_special_tokens=True), "score": round(r.scores[i].item(), 4)}
                   for i in range(min(rows, r.queries.shape[0]))]
        if self.samples_file is not None:
            with open(self.samples_file, "a", encoding="utf-8") as f:
                f.writelines(json.dumps(rec, ensure_ascii=False) + "\n" for rec in records)
        _print_samples(update, records)

    # ---- checkpoints ----------------------------------------------------------------------------

    def save_checkpoint(self, update: int, keep: int = 2) -> Path:
        """Model(s), optimizer, schedule and RNG through accelerate, plus beta and the log; atomic."""
        acc = self.accelerator
        root = Path(self.args.output_dir)
        final, tmp = root / f"update-{update:06d}", root / f"update-{update:06d}.tmp"
        if acc.is_main_process:
            shutil.rmtree(tmp, ignore_errors=True)
        acc.wait_for_everyone()
        acc.save_state(str(tmp), safe_serialization=False)  # tied embeddings: safetensors refuses shared tensors
        # Every process writes its own RNG state into tmp: all must be done before it is renamed
        # (a slow rank 1 once wrote into a folder already moved, and the run died in the barrier).
        acc.wait_for_everyone()
        if acc.is_main_process:
            state = {"update": update, "episode": self.state.episode, "beta": self.kl_controller.value,
                     "log_history": self.state.log_history}
            (tmp / STATE_FILE).write_text(json.dumps(state))
            shutil.rmtree(final, ignore_errors=True)
            tmp.rename(final)
            for old in sorted(root.glob("update-??????"))[:-keep]:
                shutil.rmtree(old, ignore_errors=True)
        acc.wait_for_everyone()
        self.control = self.callback_handler.on_save(self.args, self.state, self.control)
        return final

    def _load_checkpoint(self, path: str | Path) -> int:
        self.accelerator.load_state(str(path))
        state = json.loads((Path(path) / STATE_FILE).read_text())
        self.kl_controller.value = state["beta"]
        self.state.global_step, self.state.episode = state["update"], state["episode"]
        self.state.log_history = state["log_history"]
        return state["update"]


class PPOProgressCallback(ProgressCallback):
    """Transformers' progress bar counted in PPO updates, resuming where a run left off, with
    episodes/s, the reward and the KL beside the ETA."""

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self.training_bar = tqdm(total=state.max_steps, initial=state.global_step, desc="PPO", unit="update",
                                     dynamic_ncols=True)
        self.current_step = state.global_step

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and self.training_bar is not None and logs and "eps" in logs:
            self.training_bar.set_postfix({"episodes/s": f"{logs['eps']:.2f}", "reward": f"{logs['objective/scores']:+.3f}",
                                           "kl": f"{logs['objective/kl']:.2f}"}, refresh=False)
        super().on_log(args, state, control, logs=logs, **kwargs)


def trim_samples(path: Path, last_update: int) -> None:
    """Keep the sample records of updates up to `last_update`, dropping those a killed run wrote
    after its checkpoint (they are written again on resume) and a line it left half-written."""
    path = Path(path)
    if not path.is_file():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if json.loads(line)["update"] <= last_update:
                kept.append(line + "\n")
        except (ValueError, KeyError, TypeError):
            continue
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(kept), encoding="utf-8")
    os.replace(tmp, path)


def latest_checkpoint(root: Path) -> Optional[Path]:
    done = sorted(p for p in Path(root).glob("update-??????") if (p / STATE_FILE).is_file())
    return done[-1] if done else None


def _mean_across(acc, value: float) -> float:
    if acc.num_processes == 1:
        return value
    return acc.gather(torch.tensor([value], device=acc.device)).mean().item()


def _print_samples(update: int, records: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"samples after update {update}", show_lines=True)
    for column in ("query (end)", "response", "score"):
        table.add_column(column)
    for rec in records:
        table.add_row(rec["query"][-120:], rec["response"], f"{rec['score']:.3f}")
    Console(stderr=True, width=120).print(table)


def by_query_length(batch: torch.Tensor, queries: torch.Tensor, pad_token_id: int) -> torch.Tensor:
    """A minibatch's rows in order of query length: its micro-batches (one gradient, accumulated)
    then hold similar lengths, and each pass drops the padding its rows share (`model_inputs`)."""
    return batch[length_order(queries[batch], pad_token_id)]
