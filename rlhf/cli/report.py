"""Subcommand of the reporting stage: report."""

from __future__ import annotations

from rlhf.cli.output import log


def register(sub) -> None:
    p = sub.add_parser("report", help="Write report.md, report.html and plots for one or several runs.",
                       description="Summarise run directories (runs/<name>) as markdown and self-contained HTML "
                                   "(report.html embeds its figures; report.md links plots/*.png). Labels and human "
                                   "judgements are read from the label store as it is now. Stages that have not run "
                                   "yet are named in the report with the command to run.")
    p.add_argument("runs", nargs="+", metavar="RUN", help="Run directory (runs/<name>); several make a comparison.")
    p.add_argument("--out", metavar="DIR", help="Output directory (default: the run directory; required for several runs).")
    p.add_argument("--samples", type=int, default=8, metavar="N", help="Sample pairs to show per run (default 8).")
    p.set_defaults(handler=report, takes_overrides=False)


def report(args, overrides) -> int:
    from rlhf.report.write import write_report

    written = write_report(args.runs, args.out, samples=args.samples)
    plots = [path for name, path in written.items() if name.startswith("plots/")]
    log(f"wrote {written['report.md']} and {written['report.html']}"
        + (f" with {len(plots)} plots in {plots[0].parent}" if plots else " (no plots: nothing to plot yet)"))
    return 0
