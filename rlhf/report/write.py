"""`rlhf report`: one readable summary of one or several run directories, as markdown and HTML.

Writes report.md, report.html and plots/*.png, each atomically, into the output directory (the
run's own directory for a single run). report.html embeds the figures and needs no other file;
report.md links the PNGs.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Sequence

from rlhf.errors import RLHFError
from rlhf.report.judges import judge_label
from rlhf.report.render import Plot, render_html, render_markdown, slug
from rlhf.report.runs import Run, load_run
from rlhf.run.files import atomic_path, check_writable, write_text
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
                label = f"{judge_label(judge, run)}: {system}"
                label = label if len(runs) == 1 else f"{run.name} · {label}"
                bars.append(WinBar(label, r["win_rate"], r.get("low", r["win_rate"]), r.get("high", r["win_rate"]), judge))
    return bars


def figures(runs: Sequence[Run]) -> dict:
    """Every figure the data allows: {plot name, prefixed by the run's key when several: matplotlib Figure}."""
    from rlhf.report import plots

    made: dict = {}
    bars = _win_bars(runs)
    if bars:
        made["win_rates"] = plots.win_rates(bars, runs[0].baseline)
    for run in runs:
        prefix = f"{run.key}-" if run.key else ""
        if run.log:
            optimised = "simulated labeler (proxy)" if run.trained_on_labeler else "reward model (proxy), normalised"
            made[prefix + "training"] = plots.training(run.log, optimised)
        if run.samples:
            judges = [j for j in run.sample_judges() if j == "reward_model" or j.startswith("simulated")]
            shown = {run.baseline, run.primary_system()}  # policy against baseline, as the win rates compare
            panels = {judge_label(j, run): {s: v for s, v in run.sample_scores(j).items() if s in shown}
                      for j in sorted(judges, key=lambda j: j != "reward_model")}
            made[prefix + "reward_distribution"] = plots.score_histograms(
                panels, run.baseline, {judge_label("reward_model", run): "normalised reward"})
            made[prefix + "lengths"] = plots.lengths(run.sample_lengths(), run.baseline)
        if (run.eval or {}).get("summaries"):
            made[prefix + "summaries"] = plots.summaries(run.eval["summaries"], run.baseline)
    return {name: fig for name, fig in made.items() if fig is not None}


def save_plots(made: dict, out: Path) -> dict[str, Plot]:
    """Each figure as a PNG, written atomically to plots/<name>.png under `out`: {name: Plot}."""
    from rlhf.report.plots import png

    saved = {}
    for name, fig in made.items():
        path = RunLayout(out).plots / f"{name}.png"
        data = png(fig)
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
        saved[name] = Plot(path.relative_to(out).as_posix(), data)
    return saved


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
    plots = save_plots(figures(runs), out)
    doc = build_document(runs, plots, samples, datetime.now().astimezone())
    files = RunLayout(out).report_files
    written = {"report.md": write_text(files["report.md"], render_markdown(doc)),
               "report.html": write_text(files["report.html"], render_html(doc))}
    written.update({plot.src: out / plot.src for plot in plots.values()})
    return written
