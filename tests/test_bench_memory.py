"""bench/memory.py: which options run where, and a tiny run of the table."""

import subprocess
import sys

import pytest
from bench_modules import BENCH, load_bench

memory = load_bench("memory")


def test_a_device_without_bf16_leaves_bf16_out_of_its_rows_and_of_combined():
    rows = memory.options("policy", on_gpu=False, bf16=False)
    assert "bf16" not in rows and "fp16" not in rows
    assert rows["combined"]["bf16"] is False and rows["combined"]["lora_r"] == 16 and rows["combined"]["gradient_checkpointing"]
    assert memory.note("combined", on_gpu=False, bf16=False) == "fp32: this device has no bf16"


def test_a_device_with_bf16_measures_it_alone_and_combined():
    rows = memory.options("reward", on_gpu=True, bf16=True)
    assert rows["bf16"]["bf16"] is True and rows["combined"]["bf16"] is True and rows["fp16"]["fp16"] is True
    assert rows["baseline"]["bf16"] is False  # pinned: auto would measure and might choose bf16
    assert rows["grad-accumulation"]["batch_size"] * rows["grad-accumulation"]["gradient_accumulation_steps"] == memory.BATCH["reward"]


def test_chosen_options_keep_the_baseline_and_unknown_ones_are_refused(capsys):
    assert list(memory.options("sft", on_gpu=False, bf16=True, chosen=["lora", "bf16"])) == ["baseline", "lora", "bf16"]
    with pytest.raises(SystemExit):
        memory.parse_args(["--options", "lora,fp8"])
    assert "unknown option(s) fp8" in capsys.readouterr().err


def test_a_tiny_run_prints_the_baseline_and_the_chosen_option():
    out = subprocess.run([sys.executable, str(BENCH / "memory.py"), "--quick", "--stages", "sft", "--options", "lora",
                          "--steps", "1"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [line for line in out.stdout.splitlines() if line.startswith("│ sft")]
    assert [line.split("│")[2].strip() for line in lines] == ["baseline", "lora"]
    lora = [cell.strip() for cell in lines[1].split("│")]
    assert float(lora[3]) > 0 and int(lora[7].replace(",", "")) < int(lines[0].split("│")[7].strip().replace(",", ""))
