"""Judge names: the judge the policy was trained against is a proxy, the others are not."""

from types import SimpleNamespace

from rlhf.report.judges import is_proxy, judge_label, judge_phrase, proxy_note


def run(trained_on_labeler: bool, judges=("simulated:sentiment", "reward_model")):
    return SimpleNamespace(trained_on_labeler=trained_on_labeler, win_records=lambda: [(j, "policy", {}) for j in judges])


def test_the_reward_model_is_always_a_proxy_and_the_labeler_only_when_optimised():
    usual, on_labeler = run(False), run(True)
    assert is_proxy("reward_model") and is_proxy("reward_model", on_labeler)
    assert not is_proxy("simulated:sentiment", usual) and is_proxy("simulated:sentiment", on_labeler)
    assert not is_proxy("human", on_labeler)
    assert judge_label("reward_model") == "reward_model (proxy)" and judge_label("human") == "human"
    assert judge_phrase("reward_model") == "the reward model (proxy)" and judge_phrase("human") == "human labelers"
    assert judge_phrase("simulated:sentiment", on_labeler) == "simulated:sentiment (proxy)"


def test_the_note_explains_the_proxies_present():
    assert "The reward model is a proxy judge" in proxy_note([run(False)])
    assert "proxy too" not in proxy_note([run(False)])
    assert "proxy too" in proxy_note([run(True, judges=("simulated:sentiment",))])
    assert proxy_note([run(False, judges=("simulated:sentiment", "human"))]) is None
