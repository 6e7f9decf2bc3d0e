"""bench/sampler.py: multinomial and the inverse-CDF draw, each timed for one draw and a whole batch."""

from bench_modules import load_bench

sampler = load_bench("sampler")


def test_both_samplers_are_timed_for_a_draw_and_a_batch(capsys):
    assert sampler.main(["--quick", "--queries", "2", "--query-length", "8", "--new-tokens", "4", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "torch.multinomial" in out and "inverse CDF" in out and "a batch" in out and "x the time" in out
