"""bench/reward.py: the intervals, the verdicts computed from them, and the per-seed references."""


import pytest
from bench_modules import load_bench

bench = load_bench("reward")


def test_interval_is_the_median_and_the_range_over_seeds():
    i = bench.interval([0.3, 0.1, 0.5, 0.2, 0.4])
    assert (i.median, i.low, i.high, i.n) == (0.3, 0.1, 0.5, 5)
    assert bench.interval([2.0, 4.0]).median == 3.0  # even count: the mean of the middle two
    assert bench.interval([0.25]).format() == "25.0% [25.0%, 25.0%]"
    with pytest.raises(ValueError):
        bench.interval([])


def test_the_range_of_n_seeds_covers_the_median_with_1_minus_2_to_the_1_minus_n():
    assert bench.range_confidence(5) == pytest.approx(0.9375)
    assert bench.range_confidence(3) == pytest.approx(0.75)
    assert bench.range_confidence(1) == 0.0  # one seed: no interval at all


def test_paired_figures_need_one_per_seed_on_both_sides():
    assert bench.paired([2.0, 6.0], [1.0, 2.0], lambda a, b: a / b) == [2.0, 3.0]
    with pytest.raises(ValueError):
        bench.paired([1.0], [1.0, 2.0], lambda a, b: a - b)


@pytest.mark.parametrize("low, high, met", [(2.1, 3.0, True), (2.0, 2.5, True), (1.99, 3.0, False), (0.5, 1.5, False)])
def test_speed_is_met_only_when_the_slowest_seed_reaches_the_target(low, high, met):
    verdict = bench.speed_verdict(bench.Interval((low + high) / 2, low, high, 5), target=2.0)
    assert verdict.met is met
    assert str(verdict).startswith("speed: met" if met else "speed: not met")


@pytest.mark.parametrize("low, met", [(0.26, True), (0.25, False), (0.10, False)])
def test_beating_chance_needs_the_lower_end_above_25_percent(low, met):
    assert bench.chance_verdict("ours", bench.Interval(0.4, low, 0.5, 5)).met is met


@pytest.mark.parametrize("low, high, both_beat_chance, met", [
    (-0.05, 0.04, True, True),
    (0.0, 0.10, True, True),       # 0 on the edge counts as inside
    (0.01, 0.10, True, False),     # ours better on every seed: a difference is shown
    (-0.10, -0.02, True, False),
    (-0.05, 0.04, False, False),   # both at chance: "equal" would mean nothing
])
def test_equal_within_noise_needs_zero_in_the_difference_and_both_methods_above_chance(low, high, both_beat_chance, met):
    verdict = bench.no_difference_verdict(bench.Interval((low + high) / 2, low, high, 5), both_beat_chance)
    assert verdict.met is met
    assert ("beat chance" in verdict.detail) is (not both_beat_chance)


@pytest.mark.parametrize("low, high, met", [(-0.04, 0.05, True), (-0.06, 0.01, False), (-0.01, 0.051, False)])
def test_equivalence_needs_the_whole_difference_inside_the_margin(low, high, met):
    assert bench.equivalence_verdict(bench.Interval(0.0, low, high, 5), margin=0.05).met is met


def run(seed, method, accuracy, seconds, peak=1000.0):
    return {"method": method, "seed": seed, "best_of_4_accuracy": accuracy, "pairwise_accuracy": 0.6,
            "seconds_per_label": seconds, "peak_mb": peak, "chance_best_of_4_accuracy": 0.25, "chance_pairwise_accuracy": 0.5,
            "labeler_best_of_4_accuracy": 0.55, "labeler_pairwise_accuracy": 0.75}


def test_summary_computes_every_verdict_from_the_per_seed_figures():
    good = {"ours": [run(s, "ours", a, 1.0) for s, a in enumerate([0.40, 0.35, 0.42])],
            "trl": [run(s, "trl", a, t) for s, (a, t) in enumerate([(0.38, 2.6), (0.37, 2.4), (0.41, 2.8)])]}
    summary = bench.summarize(good)
    assert summary["speed_ratio"] == bench.Interval(2.6, 2.4, 2.8, 3)
    assert summary["accuracy_difference"].low == pytest.approx(-0.02)
    assert [v.met for v in summary["verdicts"]] == [True, True, True, True, True]

    slow_at_chance = {"ours": [run(s, "ours", a, 1.0) for s, a in enumerate([0.20, 0.30, 0.26])],
                      "trl": [run(s, "trl", a, 1.5) for s, a in enumerate([0.22, 0.28, 0.24])]}
    assert [v.met for v in bench.summarize(slow_at_chance)["verdicts"]] == [False, False, False, False, True]


def test_summary_refuses_runs_of_different_seeds():
    with pytest.raises(ValueError):
        bench.summarize({"ours": [run(0, "ours", 0.3, 1.0)], "trl": [run(1, "trl", 0.3, 2.0)]})


def test_the_labelers_ceiling_splits_ties_and_chance_is_seeded():
    # Label 1: chosen is the unique top. Label 2: four-way tie. Label 3: chosen is below the top.
    scores = [[0.9, 0.1, 0.0, 0.2], [0.0, 0.0, 0.0, 0.0], [0.5, 0.1, 0.1, 0.1]]
    metrics = bench.tie_split_metrics(scores, [0, 2, 1])
    assert metrics["best_of_4_accuracy"] == pytest.approx((1 + 0.25 + 0) / 3)
    assert metrics["pairwise_accuracy"] == pytest.approx((3 + 1.5 + (0 + 0.5 + 0.5)) / 9)
    held = [{"sequences": [[1]] * 4, "best": b, "scores": s} for s, b in zip(scores, [0, 2, 1])]
    assert bench.reference_metrics(held, 3) == bench.reference_metrics(held, 3)
    assert bench.reference_metrics(held, 3)["labeler_best_of_4_accuracy"] == metrics["best_of_4_accuracy"]


def test_each_seed_holds_out_whole_queries_and_seeds_draw_different_splits():
    records = [{"query_id": f"q{i // 2}", "n": i} for i in range(400)]  # two labels per query
    train, held = bench.split_records(records, 0)
    assert len(train) + len(held) == 400 and 40 <= len(held) <= 120
    assert not {r["query_id"] for r in train} & {r["query_id"] for r in held}
    assert {r["n"] for r in bench.split_records(records, 1)[1]} != {r["n"] for r in held}


def test_defaults_are_the_documented_recipe_and_flags_override_them():
    args = bench.parse_args([])
    assert (args.labels, args.epochs, args.lr, args.repeats) == (600, 1.0, 1e-4, 5)
    assert bench.parse_args(["--quick"]).repeats == 3
    args = bench.parse_args(["--labels", "1000", "--epochs", "2", "--lr", "5e-5", "--repeats", "7"])
    assert (args.labels, args.epochs, args.lr, args.repeats) == (1000, 2.0, 5e-5, 7)
    assert "600 labels" in bench.__doc__ and "lr 1e-4" in bench.__doc__


def test_a_finished_run_is_reused_and_a_changed_recipe_runs_again(tmp_path, monkeypatch):
    calls = []

    def fake_run(method, data, args, seed):
        calls.append((method, seed, args.lr))
        return {"method": method, "seed": seed, "best_of_4_accuracy": 0.3, "seconds_per_label": 0.5}

    monkeypatch.setattr(bench, "run_method", fake_run)
    args = bench.parse_args([])
    first = bench.run_or_reuse("ours", None, args, 2, tmp_path)
    assert bench.run_or_reuse("ours", None, args, 2, tmp_path) == first
    assert calls == [("ours", 2, 1e-4)]
    bench.run_or_reuse("trl", None, args, 2, tmp_path)  # the other method, same seed
    bench.run_or_reuse("ours", None, bench.parse_args(["--lr", "5e-5"]), 2, tmp_path)  # another recipe
    assert calls == [("ours", 2, 1e-4), ("trl", 2, 1e-4), ("ours", 2, 5e-5)]
