from rlhf.config.rounds import round_config
from rlhf.config.run_config import load_config


def test_round_r_samples_round_r_minus_1_and_reuses_every_earlier_rounds_evaluation_samples(tmp_path):
    config = load_config(None, [("output_dir", str(tmp_path)), ("name", "loop"), ("prompts.kind", "demo"),
                                ("prompts.path", "stories"), ("evaluation.systems", {"supervised": "sft"})])
    second = round_config(config, 2)
    assert second.name == "loop-round2" and second.labeling.round == 2
    assert second.labeling.policy == str(tmp_path / "loop-round1" / "policy")
    assert second.evaluation.reuse_samples_from == [str(tmp_path / "loop"), str(tmp_path / "loop-round1")]
    assert second.evaluation.systems == {"supervised": str(tmp_path / "loop" / "sft"),
                                         "round-1": str(tmp_path / "loop-round1" / "policy")}
    assert round_config(config, 0).evaluation.reuse_samples_from == []
