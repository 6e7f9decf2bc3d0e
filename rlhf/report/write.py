"""`rlhf report`: one readable summary of one or several run directories, as markdown and HTML.

Writes report.md, report.html and plots/*.png, each atomically, into the output directory (the
run's own directory for a single run).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Optional, Sequence

from rlhf.errors import RLHFError
from rlhf.report.render import render_html, render_markdown, slug
from rlhf.report.runs import Run, load_run
from rlhf.run.files import check_writable, write_text
from rlhf.run.layout import RunLayout


def _output_dir(runs: Sequence[Run], out_dir) -> Path:
    """Where the report goes, checked to be writable before any plot is drawn."""
    if out_dir is None:
        if len(runs) > 1:
            raise RLHFError(f"{len(runs)} runs need an output directory: pass --out DIR")
        return check_writable(runs[0].path, "the run directory", folder=True, fix="pass --out DIR to write elsewhere")
    return check_writable(out_dir, "--out", folder=True, fix="choose another directory")


def _assign_keys(runs: Sequence[Run]) -> None:
    """Distinct plot-file prefixes for several runs (two runs may share a name)."""
    if len(runs) == 1:
        return
    seen: set[str] = set()
    for number, run in enumerate(runs, 1):
        key = slug(run.name)
        run.key = f"{key}-{number}" if key in seen else key
        seen.add(key)


def _win_bars(runs: Sequence[Run]):
    from rlhf.report.plots import WinBar

    bars = []
    for run in runs:
        for judge, system, r in run.win_records():
            if isinstance(r.get("win_rate"), (int, float)) and r.get("n"):
                label = f"{judge}: {system}" if len(runs) == 1 else f"{run.name} · {judge}: {system}"
                bars.append(WinBar(label, r["win_rate"], r.get("low", r["win_rate"]), r.get("high", r["win_rate"]), judge))
    return bars


def make_plots(runs: Sequence[Run], out: Path) -> dict[str, str]:
    """Draw every plot the data allows; {plot key: path relative to `out`}."""
    from rlhf.report import plots

    made: dict[str, Optional[Path]] = {}
    bars = _win_bars(runs)
    if bars:
        made["win_rates"] = plots.win_rates(bars, RunLayout(out).plots / "win_rates.png", runs[0].baseline)
    for run in runs:
        prefix = f"{run.key}-" if run.key else ""
        target = lambda name: RunLayout(out).plots / f"{prefix}{name}.png"
        if run.log:
            made[prefix + "training"] = plots.training(run.log, target("training"))
        if run.samples:
            judges = [j for j in run.sample_judges() if j == "reward_model" or j.startswith("simulated")]
            shown = {run.baseline, run.primary_system()}  # policy against baseline, as the win rates compare
            panels = {j: {s: v for s, v in run.sample_scores(j).items() if s in shown}
                      for j in sorted(judges, key=lambda j: j != "reward_model")}
            made[prefix + "reward_distribution"] = plots.score_histograms(panels, target("reward_distribution"), run.baseline)
            made[prefix + "lengths"] = plots.lengths(run.sample_lengths(), target("lengths"), run.baseline)
        if (run.eval or {}).get("summaries"):
            made[prefix + "summaries"] = plots.summaries(run.eval["summaries"], target("summaries"), run.baseline)
    return {key: path.relative_to(out).as_posix() for key, path in made.items() if path is not None}


def write_report(run_dirs: Sequence[str | Path], out_dir: str | Path | None = None, samples: int = 8) -> dict[str, Path]:
    """Write report.md, report.html and plots/*.png; {file name relative to the output: its path}."""
    from rlhf.report.sections import build_document

    if not run_dirs:
        raise RLHFError("give at least one run directory")
    if samples < 0:
        raise RLHFError(f"--samples must be 0 or more, not {samples}")
    runs = [load_run(p) for p in run_dirs]  # every run is read before anything is written
    out = _output_dir(runs, out_dir)
    _assign_keys(runs)
    plots = make_plots(runs, out)
    doc = build_document(runs, plots, samples, datetime.now().astimezone())
    files = RunLayout(out).report_files
    written = {"report.md": write_text(files["report.md"], render_markdown(doc)),
               "report.html": write_text(files["report.html"], render_html(doc))}
    written.update({rel: out / rel for rel in plots.values()})
    return written
