import io

from conftest import write


def config_file(tmp_path, model_dir):
    return write(tmp_path / "c.yaml", f"""
name: lab
output_dir: {tmp_path / 'runs'}
model: {{name: {model_dir}}}
task: {{name: sentiment, query_length: 200}}
prompts: {{kind: demo, path: stories}}
labeling: {{num_queries: 4}}
""")


def test_sample_then_list_labelers_then_simulate_needs_batches(cli, tmp_path, tiny_gpt2, monkeypatch):
    config = config_file(tmp_path, tiny_gpt2)
    code, _, err = cli("label", "--config", config)
    assert code == 1 and "run `rlhf sample" in err
    code, _, err = cli("label", "--config", config, "--simulate", "sentiment")
    assert code == 1 and "run `rlhf sample" in err
    code, out, err = cli("labelers", "list", "--config", config)
    assert code == 0 and out == "" and "has no label store yet: no labelers" in err
    code, _, err = cli("sample", "--config", config, "--n", "3")
    assert code == 0 and "3 new batches; 3 in sqlite" in err
    assert (tmp_path / "runs" / "lab" / "config.yaml").is_file() and (tmp_path / "runs" / "lab" / "labels.db").is_file()
    code, out, _ = cli("labelers", "list", "--config", config)
    assert code == 0 and out == ""  # sampling adds batches, not labelers
    code, _, err = cli("label", "--config", config, "--simulate", "sentiment", "--temperature", "0")
    assert code == 0 and "sim:sentiment stored 3 labels" in err
    code, out, _ = cli("labelers", "list", "--config", config)
    assert code == 0 and out.split() == ["sim:sentiment", "labeler", "active"]
    assert_each_label_picks_the_most_positive(tmp_path / "runs" / "lab")
    code, _, err = cli("label", "--config", config, "--simulate", "sentiment")
    assert code == 0 and "sim:sentiment stored 0 labels" in err  # every batch is labeled once


def assert_each_label_picks_the_most_positive(run_dir):
    """At T = 0 the sentiment labeler chooses a sample of the highest VADER score (any one of a tie)."""
    from rlhf.labeling.simulated import sentiment_score
    from rlhf.labeling.store import LabelStore

    store = LabelStore.for_run(run_dir)
    labels = store.labels()
    assert sorted(l.batch_id for l in labels) == [1, 2, 3]
    assert {l.labeler_id for l in labels} == {store.labeler("sim:sentiment").id}
    for label in labels:
        scores = [sentiment_score("", s) for s in store.batch(label.batch_id).samples]
        assert scores[label.choice] == max(scores), (label.batch_id, scores, label.choice)


def test_sampling_from_a_policy_keeps_the_base_model_in_the_config(cli, tmp_path, tiny_gpt2, tiny_llama):
    import yaml

    from rlhf.labeling.store import LabelStore

    code, _, _ = cli("sample", "--config", config_file(tmp_path, tiny_gpt2), "--n", "2", "--policy", tiny_llama, "--round", "1")
    resolved = yaml.safe_load((tmp_path / "runs" / "lab" / "config.yaml").read_text())
    assert code == 0 and resolved["model"]["name"] == str(tiny_gpt2) and resolved["labeling"]["policy"] == str(tiny_llama)
    batch = LabelStore.for_run(tmp_path / "runs" / "lab").batch(1)
    assert (batch.policy, batch.round) == (str(tiny_llama), 1)


def test_labelers_add_reads_the_password_from_stdin_and_never_prints_it(cli, tmp_path, tiny_gpt2, monkeypatch):
    config = config_file(tmp_path, tiny_gpt2)
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret-pass\n"))
    code, out, err = cli("labelers", "add", "ann", "--admin", "--password-stdin", "--config", config)
    assert code == 0 and "added admin 'ann'" in err and "s3cret" not in out + err
    monkeypatch.setattr("sys.stdin", io.StringIO("another-pass\n"))
    code, _, err = cli("labelers", "add", "ann", "--password-stdin", "--config", config)
    assert code == 1 and "already exists" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    code, _, err = cli("labelers", "add", "bob", "--password-stdin", "--config", config)
    assert code == 1 and "at least 8 characters" in err
    code, out, _ = cli("labelers", "list", "--config", config)
    assert code == 0 and out.split() == ["ann", "admin", "active"]
    from rlhf.labeling.store import LabelStore

    assert LabelStore.for_run(tmp_path / "runs" / "lab").authenticate("ann", "s3cret-pass").is_admin



def test_import_in_openai_format_needs_a_tokenizer(cli, tmp_path, tiny_gpt2):
    code, _, err = cli("import", "--config", config_file(tmp_path, tiny_gpt2), "labels.json", "--format", "openai")
    assert code == 1 and "needs --tokenizer" in err


def test_labelers_are_managed_from_the_command_line_and_each_action_is_recorded(cli, tmp_path, tiny_gpt2, monkeypatch):
    from rlhf.labeling.store import LabelStore

    config = config_file(tmp_path, tiny_gpt2)
    code, _, err = cli("labelers", "deactivate", "ann", "--config", config)
    assert code == 1 and "no label store yet" in err and not (tmp_path / "runs").exists()
    for name, flag in (("ann", "--admin"), ("bob", None)):
        monkeypatch.setattr("sys.stdin", io.StringIO(f"{name}-password\n"))
        assert cli("labelers", "add", name, *([flag] if flag else []), "--password-stdin", "--config", config)[0] == 0
    code, out, err = cli("labelers", "reset-password", "bob", "--config", config)
    [password] = out.split()
    assert code == 0 and "chooses a new one at the next sign-in" in err
    store = LabelStore.for_run(tmp_path / "runs" / "lab")
    assert store.authenticate("bob", "bob-password") is None and store.authenticate("bob", password).must_change_password
    assert cli("labelers", "role", "bob", "admin", "--config", config)[0] == 0
    assert cli("labelers", "deactivate", "ann", "--config", config)[0] == 0
    code, _, err = cli("labelers", "deactivate", "bob", "--config", config)
    assert code == 1 and "last active admin" in err
    code, _, err = cli("labelers", "activate", "carl", "--config", config)
    assert code == 1 and "no labeler named 'carl'" in err
    code, out, _ = cli("labelers", "list", "--config", config)
    assert [line.split() for line in out.splitlines()] == [["ann", "admin", "deactivated"], ["bob", "admin", "active"]]
    code, out, _ = cli("labelers", "log", "--config", config)
    actions = [line.split(None, 2)[2].split() for line in out.splitlines()]  # after the date and time
    assert [a[1:3] for a in actions] == [["deactivated", "ann"], ["changed", "role"], ["reset", "password"],
                                         ["added", "bob"], ["added", "ann"]]
    assert all(a[0].startswith("cli") for a in actions)
