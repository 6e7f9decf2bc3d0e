"""bench/machine.py: the matmul peaks, the bandwidth and the CPU's bf16 instructions, measured."""

from bench_modules import load_bench

machine = load_bench("machine")


def test_the_limits_are_measured_and_printed_for_both_precisions():
    limits = machine.measure(256, 16)
    assert set(limits["peak_flops"]) == {"fp32", "bf16"} and all(f > 0 for f in limits["peak_flops"].values())
    assert limits["bandwidth"] > 0
    lines = machine.describe(limits)
    assert lines[0].startswith(f"device: {limits['device']} (")
    assert limits["device"] == "cuda" or "bf16 instructions" in lines[0]
    assert any(line.startswith("matmul peak bf16:") and "x fp32's" in line for line in lines)


def test_the_matmul_grows_until_a_product_is_slow(monkeypatch):
    _, size = machine.matmul_peak_flops("fp32", max_size=1024, repeats=1)
    assert size in (256, 512, 1024)
    monkeypatch.setattr(machine, "SLOW_MATMUL_S", 0.0)  # every product counts as slow: the first size is kept
    assert machine.matmul_peak_flops("bf16", max_size=1024, repeats=1)[1] == 256
