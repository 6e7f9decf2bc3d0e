"""bench/check_figures.py: every measured figure in README.md and docs/ is in a linked results file."""

from pathlib import Path

from bench_modules import load_bench

ROOT = Path(__file__).parents[1]
check_figures = load_bench("check_figures")

RESULTS = """# quickstart, 2026-12-05
- command: `rlhf run --config configs/quickstart.yaml`
```
sim:sentiment prefers the policy on 69.0% [56.2%, 79.4%] of 58 prompts
reward model held-out best-of-4 0.368 (1,359 pairs)
```
"""


def write_project(tmp_path: Path, readme: str) -> Path:
    (tmp_path / "bench" / "results").mkdir(parents=True)
    (tmp_path / "bench" / "results" / "quickstart-2026-12-05.md").write_text(RESULTS)
    (tmp_path / "README.md").write_text(readme)
    return tmp_path


def problems(tmp_path: Path, readme: str) -> list[str]:
    root = write_project(tmp_path, readme)
    return [f"{p.line}: {p.figure}" for p in check_figures.check_file(root / "README.md", root)]


def test_the_shipped_readme_and_docs_pass():
    assert check_figures.main([]) == 0


def test_figures_copied_from_the_linked_file_pass(tmp_path):
    readme = ("The policy won **69.0% [56.2%, 79.4%]** of 58 held-out prompts\n"
              "([bench/results/quickstart-2026-12-05.md](bench/results/quickstart-2026-12-05.md)).\n")
    assert problems(tmp_path, readme) == []


def test_a_planted_number_in_a_linked_paragraph_fails(tmp_path):
    readme = ("The policy won **71.3% [56.2%, 79.4%]** of 58 held-out prompts\n"
              "([results](bench/results/quickstart-2026-12-05.md)).\n")
    assert problems(tmp_path, readme) == ["1: 71.3"]


def test_a_table_takes_the_link_of_the_paragraph_before_it_and_each_cell_is_checked(tmp_path):
    readme = ("Measured by the quick start ([results](bench/results/quickstart-2026-12-05.md)):\n\n"
              "| judge | win rate | pairs |\n|---|---|---|\n"
              "| simulated | 69.0% | 1,359 |\n| reward model | 93.1% | 1,359 |\n")
    assert problems(tmp_path, readme) == ["6: 93.1"]


def test_a_measured_looking_figure_with_no_link_fails(tmp_path):
    readme = ("Intro with settings: 64-token queries, a 60 s lock wait, 4 samples.\n\n"
              "It took 14-15 minutes and was preferred on 69.0% [56.2%, 79.4%], 2.6x faster.\n")
    assert problems(tmp_path, readme) == ["3: 14-15 minutes", "3: 69.0%", "3: [56.2%, 79.4%]", "3: 2.6x"]


def test_a_table_with_decimals_needs_a_link_or_a_not_measured_line(tmp_path):
    table = "| task | temperature |\n|---|---|\n| sentiment | 0.7 |\n"
    assert problems(tmp_path, table) == ["3: 0.7"]
    assert problems(tmp_path / "marked", "<!-- not measured: settings -->\n" + table) == []


def test_a_link_to_a_missing_results_file_fails(tmp_path):
    readme = "Won 69.0% ([results](bench/results/quickstart-2026-01-01.md)).\n"
    assert problems(tmp_path, readme) == ["1: bench/results/quickstart-2026-01-01.md"]


def test_numbers_in_code_and_commands_are_not_figures(tmp_path):
    readme = ("```bash\nmake quickstart   # 14-15 minutes\n```\n\n"
              "Run `bench/mock_sentiment.py --budgets 250 1000` ([results](bench/results/quickstart-2026-12-05.md)).\n")
    assert problems(tmp_path, readme) == []


def test_the_command_line_exits_1_and_names_the_file_and_line(tmp_path, capsys):
    root = write_project(tmp_path, "Intro.\n\nPreferred on 71.3% of prompts.\n")
    assert check_figures.main([str(root / "README.md"), "--root", str(root)]) == 1
    assert f"{root / 'README.md'}:3: '71.3%'" in capsys.readouterr().out
