"""What only a GPU runs: fp16 with loss scaling, bf16, 8-bit and paged optimizers, LoRA, on CUDA.

`RLHF_TEST_DEVICE=cuda make test` runs the whole suite with `model.device: auto` meaning cuda
(tests/conftest.py sets RLHF_DEVICE), so the reward, PPO (the learnable-reward test), SFT, LoRA and
checkpoint-and-resume tests all train on the GPU; this module adds the precisions and optimizers a
CPU cannot run. On the CPU (the default, and CI) it is skipped: there is no CUDA device to test.
"""

import pytest
import torch
from conftest import TEST_DEVICE
from sft_fixtures import sft_config

from rlhf.sft.train import build_trainer, train_sft

pytestmark = pytest.mark.skipif(not TEST_DEVICE.startswith("cuda") or not torch.cuda.is_available(),
                                reason=f"RLHF_TEST_DEVICE={TEST_DEVICE}: these tests need CUDA "
                                       "(run RLHF_TEST_DEVICE=cuda make test on a GPU machine)")
QUIET = lambda message: None


@pytest.mark.parametrize("options", [
    [("sft.fp16", True)],
    [("sft.bf16", True)],
    [("sft.optim", "paged_adamw_8bit")],
    [("sft.optim", "adamw_8bit"), ("sft.bf16", True)],
    [("sft.lora_r", 8), ("sft.bf16", True)],
], ids=["fp16-loss-scaling", "bf16", "paged-adamw-8bit", "adamw-8bit-bf16", "lora-bf16"])
def test_supervised_training_learns_on_the_gpu(tmp_path, tiny_llama, options):
    if any(value in ("paged_adamw_8bit", "adamw_8bit") for _, value in options):
        pytest.importorskip("bitsandbytes", reason="the 8-bit optimizers come with the memory extra (bitsandbytes)")
    config = sft_config(tmp_path, tiny_llama, ("sft.save_steps", 100), *options)
    trainer = build_trainer(config, log=QUIET)
    assert trainer.args.fp16 == dict(options).get("sft.fp16", False) and not trainer.args.use_cpu
    assert next(trainer.model.parameters()).device.type == "cuda"
    metrics = train_sft(config, log=QUIET)
    assert metrics["eval_loss"] < metrics["eval_loss_before"] - 0.2  # it learned, and no step was all overflow


def test_fp16_scales_the_loss(tmp_path, tiny_llama):
    config = sft_config(tmp_path, tiny_llama, ("sft.save_steps", 100), ("sft.fp16", True), ("sft.epochs", 1))
    trainer = build_trainer(config, log=QUIET)
    trainer.train()
    scaler = trainer.accelerator.scaler
    assert scaler is not None and scaler.is_enabled() and scaler.get_scale() > 1
