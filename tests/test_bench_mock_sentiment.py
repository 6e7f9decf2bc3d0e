"""bench/mock_sentiment.py --reward simulated: the row where PPO is scored by the labeler itself."""

import json

from bench_modules import load_bench

mock_sentiment = load_bench("mock_sentiment")


def test_the_labeler_reward_row_trains_ppo_with_no_labels_and_no_reward_model(tmp_path, shared_data, capsys):
    assert mock_sentiment.main(["--quick", "--reward", "simulated", "--workdir", str(tmp_path)]) == 0
    [row] = json.loads((tmp_path / "mock_sentiment.json").read_text())
    assert row["budget"] == 0 and row["labels"] == 0 and row["rm_best_of_4"] is None
    assert row["episodes"] == 8 and row["prompts"] == 8
    assert row["stage_s"].keys() == {"policy", "evaluate"}  # nothing sampled, labeled or trained as a reward model
    assert not (tmp_path / "mock-labeler-reward" / "labels.db").exists()
    assert not (tmp_path / "mock-labeler-reward" / "reward_model").exists()
    assert "the labeler itself" in capsys.readouterr().out
