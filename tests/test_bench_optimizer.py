"""bench/optimizer.py: the per-tensor and fused AdamW steps, timed side by side, make the same update."""

from bench_modules import load_bench

optimizer = load_bench("optimizer")


def test_both_steps_are_timed_and_agree(capsys):
    assert optimizer.main(["--quick", "--steps", "2"]) == 0
    out = capsys.readouterr().out
    assert "adamw_torch " in out and "adamw_torch_fused" in out and "x the time" in out
    figures = optimizer.run(optimizer.parse_args(["--quick", "--steps", "1"]))
    assert set(figures["seconds"]) == {"adamw_torch", "adamw_torch_fused"} and figures["parameters"] > 0
    assert figures["max_difference"] < 1e-6  # the same arithmetic, to rounding
