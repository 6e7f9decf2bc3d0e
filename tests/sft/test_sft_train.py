"""Supervised fine-tuning on a tiny model: the loss falls, checkpoints resume, LoRA saves a whole model."""

import json

import pytest
import torch
from conftest import write
from sft_fixtures import sft_config
from transformers import TrainerCallback

from rlhf.errors import RLHFError
from rlhf.sft.train import build_trainer, train_sft
from rlhf.tasks.queries import queries_for

QUIET = lambda message: None


def test_the_held_out_loss_falls_and_the_model_is_saved_with_a_card(tmp_path, tiny_llama, cli):
    path = write(tmp_path / "c.yaml", f"""name: sft
output_dir: {tmp_path / 'runs'}
model: {{name: {tiny_llama}}}
task: {{name: sentiment, query_length: 48, response_length: 24}}
prompts: {{kind: demo, path: stories}}
sft: {{batch_size: 4, learning_rate: 3.0e-3, epochs: 2, max_examples: 32, eval_steps: 100, save_steps: 100}}
""")
    code, _, err = cli("sft", "--config", str(path))
    assert code == 0, err
    out = tmp_path / "runs" / "sft" / "sft"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["eval_loss"] < metrics["eval_loss_before"] - 0.2
    assert metrics["train_examples"] == 32 and metrics["loss_on"] == "all tokens" and metrics["steps"] == 16
    assert "held-out loss" in err and "saved to" in err
    assert "| perplexity |" in (out / "README.md").read_text()
    assert not (tmp_path / "runs" / "sft" / "sft.checkpoints").exists()
    from transformers import AutoModelForCausalLM

    assert AutoModelForCausalLM.from_pretrained(out).config.vocab_size > 0
    code, _, err = cli("sft", "--config", str(path))
    assert code == 1 and "--overwrite" in err


def test_summaries_train_on_the_summary_tokens_only(tmp_path, tiny_llama):
    config = sft_config(tmp_path, tiny_llama, ("sft.epochs", 1), ("sft.cut_long_references", True), task="tldr")
    trainer = build_trainer(config, log=QUIET)
    example = trainer.train_dataset[0]
    # Where the summary starts, from the query alone: not from the completion mask this test checks.
    query = queries_for(config, trainer.processing_class, "train", log=QUIET)[0]
    n = len(query.input_ids)
    assert example["input_ids"][:n] == query.input_ids and len(example["input_ids"]) > n + 1
    batch = trainer.data_collator([example])
    # Logits at position t predict token t + 1: positions up to n - 2 predict query tokens.
    unchanged = trainer_loss(trainer, batch)
    assert trainer_loss(trainer, batch, changed=range(0, n - 1)) == unchanged
    assert trainer_loss(trainer, batch, changed=[n - 1]) != unchanged  # the first summary token
    assert trainer_loss(trainer, batch, changed=[len(example["input_ids"]) - 2]) != unchanged  # the last one
    metrics = train_sft(config, log=QUIET)
    assert metrics["loss_on"] == "completion" and metrics["train_examples"] > 0


def trainer_loss(trainer, batch, changed=()) -> float:
    """The loss SFTTrainer trains on for `batch`, with the model's predictions at the `changed` positions made
    different: the decoder's last hidden state there is negated, which flips the sign of every logit. TRL's
    chunked loss reads those hidden states (it never calls lm_head), so the change is made on them."""
    positions = list(changed)

    def change(_module, _inputs, outputs):
        hidden = outputs.last_hidden_state.clone()
        hidden[:, positions] = -hidden[:, positions]
        outputs.last_hidden_state = hidden
        return outputs

    model = trainer.model.eval()  # no dropout: the same batch gives the same loss
    hook = model.base_model.register_forward_hook(change)
    try:
        with torch.no_grad():
            return trainer.compute_loss(model, dict(batch)).item()
    finally:
        hook.remove()


class StopAfter(TrainerCallback):
    def __init__(self, step):
        self.step = step

    def on_save(self, args, state, control, **kwargs):
        if state.global_step >= self.step:
            raise KeyboardInterrupt  # a crash right after a checkpoint


def test_a_killed_run_resumes_from_its_checkpoint_and_finishes(tmp_path, tiny_llama):
    config = sft_config(tmp_path, tiny_llama)
    with pytest.raises(KeyboardInterrupt):
        train_sft(config, log=QUIET, callbacks=[StopAfter(4)])
    assert (config.layout.sft_checkpoints / "checkpoint-4").is_dir() and not (config.run_dir / "sft").exists()
    with pytest.raises(RLHFError, match="--resume"):
        train_sft(config, log=QUIET)
    said, steps = [], []

    class Count(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            steps.append(state.global_step)

    metrics = train_sft(config, log=said.append, resume=True, callbacks=[Count()])
    assert any("resuming from" in m and "checkpoint-4" in m for m in said)
    assert metrics["steps"] == 16 and steps == list(range(5, 17))  # steps 1-4 are not done again


def test_lora_with_checkpointing_and_8bit_adam_saves_a_merged_model(tmp_path, tiny_llama):
    pytest.importorskip("bitsandbytes", reason="the 8-bit optimizer comes with the memory extra (bitsandbytes)")
    config = sft_config(tmp_path, tiny_llama, ("sft.lora_r", 4), ("sft.gradient_checkpointing", True),
                        ("sft.optim", "adamw_8bit"), ("sft.epochs", 1))
    seen = {}

    class Spy(TrainerCallback):
        def on_step_end(self, args, state, control, model=None, optimizer=None, **kwargs):
            inner = getattr(optimizer, "optimizer", optimizer)
            seen["optimizer"] = f"{type(inner).__module__}:{getattr(getattr(inner, 'args', None), 'optim_bits', 32)}"
            seen["trainable"] = sum(p.numel() for p in model.parameters() if p.requires_grad)
            seen["checkpointing"] = model.is_gradient_checkpointing

    metrics = train_sft(config, log=QUIET, callbacks=[Spy()])
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_llama)
    saved = AutoModelForCausalLM.from_pretrained(config.run_dir / "sft")
    assert seen["optimizer"].startswith("bitsandbytes") and seen["optimizer"].endswith(":8") and seen["checkpointing"]
    assert 0 < seen["trainable"] < sum(p.numel() for p in base.parameters()) / 2
    assert not any("lora" in k for k in saved.state_dict())  # merged: a plain model
    changed = [k for k, v in saved.state_dict().items() if k in base.state_dict() and v.shape == base.state_dict()[k].shape
               and not torch.equal(v, base.state_dict()[k])]
    assert changed and all("proj" in k or "lm_head" in k or "embed" in k for k in changed)
    assert metrics["eval_loss"] < metrics["eval_loss_before"]


@pytest.mark.parametrize("override, key", [
    pytest.param(("sft.fp16", True), "sft.fp16", marks=pytest.mark.skipif(torch.cuda.is_available(), reason="fp16 is refused on a CPU only")),
    (("sft.optim", "lion"), "sft.optim"),
    (("sft.max_examples", 0), "sft.max_examples"),
])
def test_impossible_options_name_their_key(tmp_path, tiny_llama, override, key):
    from rlhf.errors import ConfigError

    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        config = sft_config(tmp_path, tiny_llama, override)
        train_sft(config, log=QUIET)
    assert not (tmp_path / "runs" / "sft" / "sft").exists()


def test_the_held_out_set_is_evaluated_once_before_and_once_after_training(tmp_path, tiny_llama):
    class Evaluations(TrainerCallback):
        losses = []

        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            self.losses.append(metrics["eval_loss"])

    counter = Evaluations()
    config = sft_config(tmp_path, tiny_llama, ("sft.epochs", 1), ("sft.max_examples", 16))
    metrics = train_sft(config, log=QUIET, callbacks=[counter])
    # Before training, then the Trainer's own pass at its last step; no third pass for the "after" figure.
    assert len(counter.losses) == 2
    assert (metrics["eval_loss_before"], metrics["eval_loss"]) == tuple(counter.losses)
