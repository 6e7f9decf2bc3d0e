"""`rlhf report`: markdown and HTML reports of fabricated run directories (no models needed)."""

import argparse
import base64
import re
import shutil
from pathlib import Path

import pytest
from report_fixtures import make_run, write_config, write_policy

from rlhf.cli import report as report_commands
from rlhf.errors import RLHFError
from rlhf.report.write import write_report

PNG = b"\x89PNG\r\n\x1a\n"
FULL_SECTIONS = ("Win rates", "Training", "Reward distributions", "Response lengths", "Reward model", "Sample pairs")


def read(paths, name) -> str:
    return paths[name].read_text(encoding="utf-8")


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG and len(data) > 1000, path


def embedded(page: str) -> list[bytes]:
    return [base64.b64decode(data) for data in re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)]


def no_temporaries(root: Path) -> None:
    assert not [p for p in root.rglob("*.tmp")], "an atomic write left its temporary file"


def test_a_full_run_gets_every_section_and_plot(tmp_path):
    run = make_run(tmp_path / "runs", "demo")
    paths = write_report([run])
    assert paths["report.md"] == run / "report.md" and paths["report.html"] == run / "report.html"
    plots = {"plots/win_rates.png", "plots/training.png", "plots/reward_distribution.png", "plots/lengths.png"}
    assert plots <= set(paths)
    for name in plots:
        assert_png(paths[name])
    md, page = read(paths, "report.md"), read(paths, "report.html")
    for title in FULL_SECTIONS:
        assert f"## {title}" in md and f">{title}</h2>" in page
    order = ["plots/win_rates.png", "plots/training.png", "plots/reward_distribution.png", "plots/lengths.png"]
    assert re.findall(r"!\[[^]]*\]\(([^)]*)\)", md) == order  # markdown links the files beside it
    assert embedded(page) == [paths[name].read_bytes() for name in order]  # the page carries the same PNGs
    assert 'href="#win-rates"' in page and "](#samples)" in md  # tables of contents
    assert "<title>RLHF report: demo</title>" in page
    no_temporaries(run)


def test_numbers_in_the_report_match_the_fixture(tmp_path):
    md = read(write_report([make_run(tmp_path / "runs", "demo")]), "report.md")
    assert ("policy preferred to zero-shot in 75.0% \\[59.8%, 85.8%\\] of 40 prompts by simulated:sentiment." in md)
    assert "in 65.0% \\[49.5%, 77.9%\\] of 40 prompts by the reward model" in md
    assert "58.3% \\[32.0%, 80.7%\\] of 12 judged pairs by human labelers" in md
    assert "| simulated:sentiment | policy | 75.0% | \\[59.8%, 85.8%\\] | 30 | 0 | 10 | 40 | 0.520 | -0.030 |" in md
    assert "best-of-4 accuracy 62.5% (chance 25.0%)" in md
    assert "1800 for training, 200 held out" in md
    assert "20 PPO updates on 1280 episodes." in md
    assert "| share without a truncation token | 20.0% | 1.0% |" in md
    assert "| policy | 7.0 |" in md  # mean words per sample


def test_summaries_get_a_rouge_and_copying_table(tmp_path):
    run = make_run(tmp_path / "runs", "tldr", task="tldr", summaries=True)
    md = read(write_report([run]), "report.md")
    assert "## Summaries: ROUGE and copying" in md
    assert "| policy | 0.312 | 0.105 | 0.250 | 50.0% | 25.0% | 12.5% | 40.0% | 21.5 | 80 |" in md
    assert "| lead | – |" in md  # an undefined mean shows as a dash
    assert "| \\# | query | reference | zero-shot | policy |" in md
    assert "| supervised | the reward model (proxy) | policy | 80.0% |" in md  # evaluation.against: vs the supervised model
    assert "![ROUGE-L and copying per system](plots/summaries.png)" in md and (run / "plots" / "summaries.png").is_file()


def test_a_run_with_only_its_config_names_every_missing_stage(tmp_path):
    run = make_run(tmp_path / "runs", "partial", reward=False, policy=False, evaluation=False)
    paths = write_report([run])
    md, page = read(paths, "report.md"), read(paths, "report.html")
    assert "No evaluation yet: run `rlhf evaluate --config runs/partial/config.yaml`." in md
    assert "No policy yet: run `rlhf train-policy --config runs/partial/config.yaml`." in md
    assert "No reward model yet: run `rlhf train-reward --config runs/partial/config.yaml`." in md
    assert "No evaluation yet: run <code>rlhf evaluate --config runs/partial/config.yaml</code>." in page
    assert not [name for name in paths if name.startswith("plots/")] and not (run / "plots").exists()


def test_a_trained_but_unevaluated_run_plots_training_only(tmp_path):
    run = make_run(tmp_path / "runs", "trained", evaluation=False)
    paths = write_report([run])
    assert [name for name in paths if name.startswith("plots/")] == ["plots/training.png"]
    md = read(paths, "report.md")
    assert "## Evaluation" in md and "No evaluation yet" in md and "## Sample pairs" not in md


def test_evaluation_without_samples_file_says_so(tmp_path):
    run = make_run(tmp_path / "runs", "nosamples", with_samples=False)
    md = read(write_report([run]), "report.md")
    assert "eval/samples.jsonl is missing" in md and "75.0%" in md


def test_several_runs_need_an_output_directory(tmp_path):
    runs = [make_run(tmp_path / "runs", "a"), make_run(tmp_path / "runs", "b", evaluation=False)]
    with pytest.raises(RLHFError, match="--out"):
        write_report(runs)
    assert not any((run / "report.md").exists() for run in runs)


def test_several_runs_are_compared(tmp_path):
    other = tmp_path / "elsewhere"
    runs = [make_run(tmp_path / "runs", "a"), make_run(tmp_path / "runs", "b", evaluation=False),
            make_run(other, "a")]  # a second run called "a": its plots must not overwrite the first's
    paths = write_report(runs, tmp_path / "cmp", samples=2)
    md = read(paths, "report.md")
    assert "## Comparison" in md and "### Training" in md
    assert "| a | sentiment | 1800 + 200 held out | 20 | 3.296 | policy | 75.0% \\[59.8%, 85.8%\\] |" in md
    assert "| b | sentiment | 1800 + 200 held out | 20 | 3.296 | – | – |" in md
    assert {"plots/win_rates.png", "plots/a-training.png", "plots/a-3-training.png", "plots/b-training.png"} <= set(paths)
    assert "| a | simulated:sentiment | policy | 75.0%" in md  # the shared win-rate table names the run
    assert "b: No evaluation yet: run `rlhf evaluate --config runs/b/config.yaml`." in md
    assert md.count("The first 2 of 40 held-out queries") == 2
    no_temporaries(tmp_path / "cmp")


def test_a_directory_without_config_is_an_error_and_nothing_is_written(tmp_path):
    good, bad = make_run(tmp_path / "runs", "good"), tmp_path / "runs" / "stray"
    (bad / "eval").mkdir(parents=True)
    with pytest.raises(RLHFError) as caught:
        write_report([good, bad], tmp_path / "out")
    message = str(caught.value)
    assert "runs/stray is not a run directory (has no config.yaml)" in message and "\n" not in message
    assert not (tmp_path / "out").exists() and not (good / "report.md").exists()
    with pytest.raises(RLHFError, match="does not exist"):
        write_report([tmp_path / "nowhere"])


def test_a_config_path_is_taken_for_its_run(tmp_path):
    run = make_run(tmp_path / "runs", "demo", evaluation=False)
    assert write_report([run / "config.yaml"])["report.md"] == run / "report.md"


def test_model_text_is_inert_in_html(tmp_path):
    paths = write_report([make_run(tmp_path / "runs", "nasty", nasty=True)])
    page = read(paths, "report.html")
    assert "<script" not in page.lower() and "<img src=x" not in page and "<b>bold" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "[link](http://x)" in page and "![img](http://x/y.png)" in page  # shown literally, as typed
    assert re.findall(r'<img src="data:image/png;base64,[^"]*" alt="([^"]*)">', page) == [
        "win rates against the baseline with 95% intervals", "reward and KL per PPO update",
        "histograms of per-sample scores per system", "histogram of words per sample per system"]
    assert len(re.findall(r"<img ", page)) == 4
    assert "script-src 'none'" in page  # and a policy that would stop a script that got through


def test_model_text_is_inert_in_markdown(tmp_path):
    from markdown_it import MarkdownIt

    md = read(write_report([make_run(tmp_path / "runs", "nasty", nasty=True)]), "report.md")
    assert "\\<script\\>alert(1)\\</script\\>" in md and "\\[link\\](http://x)" in md and "!\\[img\\](http://x/y.png)" in md
    # Rendered with raw HTML allowed (our own anchors and <br> need it), nothing from the model becomes markup.
    rendered = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough").render(md)
    assert "<script" not in rendered and "<b>" not in rendered and "<em>" not in rendered and "<del>" not in rendered
    assert not re.search(r'<a href="(http://x|javascript)', rendered)
    assert re.findall(r'<img src="([^"]*)"', rendered) == [
        "plots/win_rates.png", "plots/training.png", "plots/reward_distribution.png", "plots/lengths.png"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered and "[link](http://x)" in rendered
    samples = rendered[rendered.index('id="samples"'):]
    rows = re.findall(r"<tr>(.*?)</tr>", samples, re.S)
    assert len(rows) == 9 and all(row.count("<td") == 5 for row in rows[1:])  # a `|` in a sample splits no cell


def test_the_command_handler_writes_and_says_where(tmp_path, capsys):
    run = make_run(tmp_path / "runs", "demo")
    parser = argparse.ArgumentParser()
    report_commands.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["report", str(run), "--samples", "3"])
    assert args.takes_overrides is False
    assert args.handler(args, []) == 0
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(run / "report.md") in err and str(run / "report.html") in err
    assert "4 plots" in err
    args = parser.parse_args(["report", str(run), str(run)])
    with pytest.raises(RLHFError, match="--out"):
        args.handler(args, [])


def test_reports_are_rewritten_in_place(tmp_path):
    run = make_run(tmp_path / "runs", "demo", evaluation=False)
    write_report([run])
    write_policy(run, labeler=False)
    write_config(run, "renamed", "sentiment")
    md = write_report([run])["report.md"].read_text()
    assert md.startswith("# RLHF report: renamed") and "simulated labeler score" not in md
    no_temporaries(run)


@pytest.mark.usefixtures("browser")  # conftest: skipped without Chromium, failed under CI=true
def test_the_html_report_in_a_browser_shows_images_and_runs_nothing(tmp_path):
    from labeling_app.browser import Chromium

    paths = write_report([make_run(tmp_path / "runs", "nasty", nasty=True)])
    shutil.rmtree(tmp_path / "runs" / "nasty" / "plots")  # the page alone is the report
    with Chromium() as driver:
        # A sentinel installed before the page's own code: any alert or script would record itself.
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": (
            "window.__alerts = []; window.alert = (m) => window.__alerts.push(String(m));")})
        driver.get(paths["report.html"].resolve().as_uri())
        driver.execute_async_script("const done = arguments[0]; (function wait() {"
                                    " if ([...document.images].every(i => i.complete)) done(); else setTimeout(wait, 50); })();")
        assert driver.title == "RLHF report: nasty"
        widths = driver.execute_script("return [...document.images].map(i => [i.getAttribute('src').slice(0, 22), i.naturalWidth])")
        assert len(widths) == 4 and all(width > 0 for _, width in widths), widths
        assert driver.execute_script("return window.__alerts") == []
        assert driver.execute_script("return document.scripts.length") == 0
        table = driver.execute_script("return document.querySelector('table.samples').innerText")
        assert "<script>alert(1)</script>" in table and "[link](http://x)" in table
        assert driver.execute_script("return document.querySelectorAll('a[href^=\"http\"]').length") == 0


def test_human_judgements_made_after_the_evaluation_are_counted(tmp_path):
    from rlhf.labeling.store import LabelStore
    from rlhf.report.runs import load_run

    run = make_run(tmp_path, "humans")
    store = LabelStore.for_run(run)
    store.add_queries([{"id": "q1", "task": "sentiment", "prompt": "It was", "split": "eval"}])
    for a, b, winner in [("policy", "zero-shot", "a"), ("zero-shot", "policy", "b"), ("zero-shot", "policy", "tie"),
                         ("policy", "zero-shot", None)]:
        store.add_comparison("q1", a, b, "x", "y", judge="ann" if winner else None, winner=winner)
    human = load_run(run).eval["judges"]["human"]["policy"]
    assert (human["wins"], human["ties"], human["losses"], human["n"]) == (2, 1, 0, 3)
    write_report([run])
    assert "policy preferred to zero-shot in 83.3%" in (run / "report.md").read_text()


def test_the_html_page_needs_no_other_file(tmp_path):
    run = make_run(tmp_path / "runs", "demo")
    page = read(write_report([run]), "report.html")
    shutil.rmtree(run / "plots")
    references = re.findall(r'\b(?:src|href)="([^"]*)"', page)
    assert len([r for r in references if r.startswith("data:image/png;base64,")]) == 4
    assert all(r.startswith(("data:image/png;base64,", "#")) for r in references), references
    assert "url(" not in page and "@import" not in page and "<link" not in page
    assert "img-src data:;" in page and "file:" not in page  # the policy would block a file the page did name
    assert all(data.startswith(PNG) and len(data) > 1000 for data in embedded(page))


def reward_model_lines(md: str) -> list[str]:
    """Lines naming the reward model, outside the contents and the sections about the model itself and the config."""
    kept, skip = [], False
    for line in md.splitlines():
        if line.startswith("#"):
            skip = line.lstrip("# ") in ("Reward model", "Config")
        elif not skip and not line.lstrip().startswith("- [") and re.search(r"reward(\\?_| )model", line, re.IGNORECASE):
            kept.append(line)
    return kept


@pytest.mark.parametrize("options", [{}, {"task": "tldr", "summaries": True}])
def test_the_proxy_judge_is_called_one_wherever_it_appears(tmp_path, options):  # no "reward_model" in tmp_path
    run = make_run(tmp_path / "runs", "demo", **options)
    md = read(write_report([run]), "report.md")
    lines = reward_model_lines(md)
    assert len(lines) >= 6  # headline, note, win-rate table, distribution text and table, sample scores
    for line in lines:
        mentions = len(re.findall(r"reward(\\?_| )model", line, re.IGNORECASE))
        assert line.count("proxy") >= mentions, line
    assert "by the reward model (proxy)." in md and "| reward\\_model (proxy) | policy | 65.0% |" in md
    assert "> The reward model is a proxy judge: the policy was trained to raise its score" in md
    assert "| simulated:sentiment | policy | 75.0% |" in md  # the simulated labeler is no proxy here


def test_several_runs_mark_the_proxy_in_the_comparison(tmp_path):
    runs = [make_run(tmp_path / "runs", "a"), make_run(tmp_path / "runs", "b")]
    write_config(runs[1], "b", "sentiment", policy={"reward": "simulated"})  # PPO optimised the labeler itself
    md = read(write_report(runs, tmp_path / "cmp"), "report.md")
    assert "| win rate, simulated:sentiment | win rate, reward\\_model (proxy) | win rate, human |" in md
    assert "| a | sentiment | 1800 + 200 held out | 20 | 3.296 | policy | 75.0% \\[59.8%, 85.8%\\] | 65.0%" in md
    assert "| b | sentiment | 1800 + 200 held out | 20 | 3.296 | policy | 75.0% \\[59.8%, 85.8%\\] (proxy) | 65.0%" in md
    assert "| b | simulated:sentiment (proxy) | policy |" in md and "| a | simulated:sentiment | policy |" in md
    assert "its simulated win rate is a proxy too" in md
    for line in reward_model_lines(md):
        assert "proxy" in line, line


def test_the_config_is_shown_with_its_secrets_masked(tmp_path, monkeypatch):
    monkeypatch.delenv("RLHF_DATABASE_URL", raising=False)
    run = make_run(tmp_path / "runs", "secret")
    write_config(run, "secret", "sentiment",
                 labeling={"database_url": "postgresql://ann:***@db.invalid:5432/labels", "labelers_per_batch": 2},
                 prompts={"kind": "jsonl", "path": "https://reader:hunter-2@data.example/stories.jsonl"},
                 tracking={"wandb_api_key": "k-123", "hf_token": "hf-abc", "client-secret": "s-3", "db_password": "pw-9",
                           "note": "see postgresql://bob:let-me-in@10.0.0.1/x"})
    paths = write_report([run])
    md, page = read(paths, "report.md"), read(paths, "report.html")
    for secret in ("hunter-2", "k-123", "hf-abc", "s-3", "pw-9", "let-me-in"):  # "-": not in the pages' base64
        assert secret not in md and secret not in page, secret
    config = md[md.index("## Config"):]
    assert "```yaml\nname: secret\n" in config
    assert "  path: https://reader:***@data.example/stories.jsonl" in config
    assert "  database_url: postgresql://ann:***@db.invalid:5432/labels" in config and "labelers_per_batch: 2" in config
    for key in ("wandb_api_key", "hf_token", "client-secret", "db_password"):
        assert f"  {key}: '***'" in config, key
    assert "note: see postgresql://bob:***@10.0.0.1/x" in config
    assert "truncate_token: ." in config  # a vocabulary token, not a credential
    assert '<pre class="config">name: secret\n' in page and "https://reader:***@data.example" in page
