"""The report's sections, built from loaded runs (`rlhf.report.runs.Run`) as plain-text blocks.

Nothing here writes markup: `rlhf.report.render` escapes and renders. A stage that has not run
yet gets a one-line section naming the command that runs it, so a half-finished run still reports.
"""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING, Optional, Sequence

from rlhf.report.formats import interval, is_number, num, pct
from rlhf.report.judges import PROXY, is_proxy, judge_label, judge_phrase, proxy_note
from rlhf.report.label_sections import human_section, labels_section
from rlhf.report.render import Bullets, Code, Document, Image, Para, Plot, Pre, Section, Table

if TYPE_CHECKING:
    from rlhf.report.runs import Run

QUERY_CHARS = 400  # long prompts (a whole post) are cut to their end, which the samples continue
TRAINING_KEYS = {"objective/scores": "training reward (proxy; normalised)", "objective/raw_scores": "training reward (proxy; raw)",
                 "objective/labeler_score": "simulated labeler score", "objective/kl": "KL from the base model (nats)",
                 "objective/beta": "β (KL coefficient)", "objective/penalized": "share without a truncation token",
                 "objective/rlhf_reward": "reward minus KL penalty", "policy/entropy": "entropy",
                 "response/length": "response length (tokens)", "eps": "episodes per second",
                 "tokens_per_s": "tokens per second"}
SUMMARY_COLUMNS = (("rouge1", "ROUGE-1"), ("rouge2", "ROUGE-2"), ("rougeL", "ROUGE-L"),
                   ("copied_sentences", "sentences copied"), ("copied_lead", "copied from lead-3"),
                   ("fully_copied", "fully copied"), ("novel_trigrams", "novel trigrams"),
                   ("length_words", "words"), ("n", "n"))


def missing(stage: str, command: str, run: "Run") -> Para:
    return Para([f"No {stage} yet: run ", Code(f"rlhf {command} --config {run.config_arg()}"), "."])


def headline(run: "Run") -> Para:
    """One sentence per judge and system: how often the system beat the baseline."""
    if not run.eval:
        return missing("evaluation", "evaluate", run)
    sentences = []
    for judge, system, r in run.win_records():
        unit = "judged pairs" if judge == "human" else "prompts"
        sentences.append(f"{system} preferred to {run.baseline} in {pct(r.get('win_rate'))} {interval(r)} "
                         f"of {r.get('n', '?')} {unit} by {judge_phrase(judge, run)}.")
    return Para([" ".join(sentences) or "The evaluation judged no system against the baseline."])


def intro(runs: Sequence["Run"], generated) -> list:
    facts = [[f"{run.name}: task {run.task}, model {run.model}, directory {run.path}"] for run in runs]
    blocks = [Bullets(facts + [[f"generated {generated:%Y-%m-%d %H:%M %Z}"]])]
    for run in runs:
        blocks.append(Para(([f"{run.name}: "] if len(runs) > 1 else []) + headline(run).parts))
    return blocks


def win_rate_section(runs: Sequence["Run"], plot: Optional[Plot]) -> Section:
    several = len(runs) > 1
    rows = []
    for run in runs:
        means = (run.eval or {}).get("mean_scores") or {}
        for judge, system, r in run.win_records():
            judge_means = means.get(judge) or {}
            rows.append(([run.name] if several else []) + [
                judge_label(judge, run), system, pct(r.get("win_rate")), interval(r), num(r.get("wins")), num(r.get("ties")),
                num(r.get("losses")), num(r.get("n")), num(judge_means.get(system)), num(judge_means.get(run.baseline))])
    header = (["run"] if several else []) + ["judge", "system", "win rate", "95% interval", "won", "tied", "lost",
                                              "n", "mean score", f"{runs[0].baseline} mean"]
    blocks = [Table(header, rows)] if rows else []
    note = proxy_note(runs)
    if note:
        blocks.append(Para([note], note=True))
    for run in runs:
        if not run.eval:
            blocks.append(Para(([f"{run.name}: "] if several else []) + missing("evaluation", "evaluate", run).parts))
        elif run.eval.get("unit"):
            blocks.append(Para([f"How a win is counted{f' in {run.name}' if several else ''}: {run.eval['unit']}. "
                                "A tie counts as half a win; intervals are 95% Wilson score intervals."]))
    if plot:
        blocks.append(Image(plot, "win rates against the baseline with 95% intervals"))
    return Section("win-rates", "Win rates", blocks)


def comparison_section(runs: Sequence["Run"]) -> Section:
    judges = list(dict.fromkeys(j for run in runs for j, _, _ in run.win_records()))
    rows = []
    for run in runs:
        reward, last = run.reward or {}, (run.policy or {}).get("last") or {}
        labels = (f"{num(reward.get('train_labels'))} + {num(reward.get('labels'))} held out" if reward else "–")
        primary = run.primary_system()
        rates = {j: r for j, s, r in run.win_records() if s == primary}
        # A judge that is a proxy only in some runs (the simulated labeler, policy.reward: simulated) says so per cell.
        cells = [f"{pct(rates[j].get('win_rate'))} {interval(rates[j])}" + (
                 f" {PROXY}" if is_proxy(j, run) and not is_proxy(j) else "") if j in rates else "–" for j in judges]
        rows.append([run.name, run.task, labels, num((run.policy or {}).get("updates")),
                     num(last.get("objective/kl")), primary or "–"] + cells)
    header = ["run", "task", "labels", "updates", "final KL", "system"] + [f"win rate, {judge_label(j)}" for j in judges]
    return Section("comparison", "Comparison", [Table(header, rows)])


def _training_rows(run: "Run") -> list[list[str]]:
    first, last = (run.policy or {}).get("first"), (run.policy or {}).get("last")
    if not (first and last) and run.log:  # no metrics.json: take the first and last logged updates
        updates = [row for row in run.log if "objective/scores" in row]
        first, last = (updates[0], updates[-1]) if updates else ({}, {})
    rows = []
    for key, label in TRAINING_KEYS.items():
        if key in (first or {}) or key in (last or {}):
            fmt = pct if key == "objective/penalized" else num
            rows.append([label, fmt((first or {}).get(key)), fmt((last or {}).get(key))])
    return rows


def training_section(run: "Run", plot: Optional[Plot], level: int) -> Section:
    sid = f"{run.key}-training" if run.key else "training"
    if not run.policy and not run.log:
        return Section(sid, "Training", [missing("policy", "train-policy", run)], level)
    policy = run.policy or {}
    blocks = [Para([f"{num(policy.get('updates'))} PPO updates on {num(policy.get('episodes'))} episodes."])]
    rows = _training_rows(run)
    if rows:
        blocks.append(Table(["", "first update", "last update"], rows))
    blocks.append(Image(plot, "reward and KL per PPO update") if plot else
                  Para(["No training log (policy/training_log.json) to plot."]))
    return Section(sid, "Training", blocks, level)


def _describe(values: list[float]) -> list[str]:
    if not values:
        return ["–"] * 4
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return [num(statistics.fmean(values)), num(statistics.median(values)), num(spread), str(len(values))]


def distribution_section(run: "Run", plot: Optional[Plot], level: int) -> Section:
    sid = f"{run.key}-reward-distribution" if run.key else "reward-distribution"
    if not run.samples:
        return Section(sid, "Reward distributions", [_no_samples(run)], level)
    rows = [[judge_label(judge, run), system] + _describe(values)
            for judge in run.sample_judges() for system, values in run.sample_scores(judge).items()]
    blocks = [Para(["Per-sample scores of the held-out samples; the reward model's (a proxy) are normalised rewards."]),
              Table(["judge", "system", "mean", "median", "sd", "samples"], rows)]
    if plot:
        blocks.append(Image(plot, "histograms of per-sample scores per system"))
    return Section(sid, "Reward distributions", blocks, level)


def lengths_section(run: "Run", plot: Optional[Plot], level: int) -> Section:
    sid = f"{run.key}-lengths" if run.key else "lengths"
    means = (run.eval or {}).get("lengths") or {}
    blocks = [Table(["system", "mean words per sample"], [[s, num(v, 1)] for s, v in means.items()])] if means else []
    blocks.append(Image(plot, "histogram of words per sample per system") if plot else _no_samples(run))
    return Section(sid, "Response lengths", blocks, level)


def _no_samples(run: "Run") -> Para:
    return Para(["No per-sample results (eval/samples.jsonl is missing): run ",
                 Code(f"rlhf evaluate --config {run.config_arg()} --overwrite"), " to write them."])


def reward_model_section(run: "Run", level: int) -> Section:
    sid = f"{run.key}-reward-model" if run.key else "reward-model"
    m = run.reward
    if not m:
        return Section(sid, "Reward model", [missing("reward model", "train-reward", run)], level)
    chance = m.get("chance_accuracy")
    n = round(1 / chance) if is_number(chance) and chance > 0 else "n"
    items = [f"held-out best-of-{n} accuracy {pct(m.get('best_of_n_accuracy'))} (chance {pct(chance)})",
             f"implied pairwise accuracy {pct(m.get('pairwise_accuracy'))}",
             f"held-out loss {num(m.get('loss'))}, calibration error {num(m.get('calibration_error'))}",
             f"labels: {num(m.get('train_labels'))} for training, {num(m.get('labels'))} held out",
             f"loss {m.get('loss_type', '?')}, backbone {m.get('backbone', '?')}"]
    norm = m.get("normalization")
    if isinstance(norm, dict) and "samples" in norm:
        items.append(f"rewards normalised on {num(norm['samples'])} base-policy samples")
    return Section(sid, "Reward model", [Bullets([[item] for item in items])], level)


def summaries_section(run: "Run", plot: Optional[Plot], level: int) -> Optional[Section]:
    summaries = (run.eval or {}).get("summaries")
    if not summaries:
        return None
    fmt = {"rouge1": num, "rouge2": num, "rougeL": num, "length_words": lambda v: num(v, 1), "n": num}
    rows = [[system] + [fmt.get(key, pct)((stats or {}).get(key)) for key, _ in SUMMARY_COLUMNS]
            for system, stats in summaries.items()]
    note = Para(["ROUGE F1 against the reference; copying measures how much of each summary appears verbatim "
                 "in the whole source document (the paper's 'smart copiers', section 4.2)."])
    sid = f"{run.key}-summaries" if run.key else "summaries"
    blocks = [note, Table(["system"] + [c for _, c in SUMMARY_COLUMNS], rows), *against_blocks(run)]
    if plot:
        blocks.append(Image(plot, "ROUGE-L and copying per system"))
    return Section(sid, "Summaries: ROUGE and copying", blocks, level)


def against_blocks(run: "Run") -> list:
    """Win rates against the systems named in evaluation.against (the supervised model, for the paper's table)."""
    rows = [[baseline, judge_phrase(judge, run), system, pct(r.get("win_rate")), interval(r), num(r.get("n"))]
            for baseline, judges in ((run.eval or {}).get("against") or {}).items()
            for judge, systems in judges.items() for system, r in systems.items()]
    if not rows:
        return []
    return [Para(["Win rates against other systems than zero-shot, counted the same way:"]),
            Table(["against", "judge", "system", "win rate", "95% interval", "n"], rows)]


def _first(texts) -> str:
    return str(texts[0]) if texts else "–"


def _scores_cell(row: dict, systems: list[str], run: "Run") -> str:
    lines = []
    for judge, per_system in (row.get("scores") or {}).items():
        values = [f"{s} {num(per_system[s][0]) if per_system.get(s) else '–'}" for s in systems if s in per_system]
        lines.append(f"{judge_label(judge, run)}: " + ", ".join(values))
    return "\n".join(lines) or "–"


def samples_section(run: "Run", count: int, level: int) -> Section:
    sid = f"{run.key}-samples" if run.key else "samples"
    if not run.samples:
        return Section(sid, "Sample pairs", [_no_samples(run)], level)
    rows = run.samples[:count]
    primary = run.primary_system() or "policy"
    systems = [run.baseline, primary]
    with_reference = any(r.get("reference") for r in rows)
    header = ["#", "query"] + (["reference"] if with_reference else []) + systems + ["scores of these samples"]
    table = []
    for number, row in enumerate(rows, 1):
        query = str(row.get("query", ""))
        query = query if len(query) <= QUERY_CHARS else "…" + query[-QUERY_CHARS:]
        texts = row.get("systems") or {}
        table.append([str(number), query] + ([str(row.get("reference") or "–")] if with_reference else [])
                     + [_first(texts.get(s)) for s in systems] + [_scores_cell(row, systems, run)])
    intro = Para([f"The first {len(rows)} of {len(run.samples)} held-out queries: the first sample of "
                  f"{run.baseline} and of {primary}, with each judge's score of those two samples."])
    return Section(sid, "Sample pairs", [intro, Table(header, table, css_class="samples")], level)


def config_section(run: "Run", level: int) -> Section:
    from rlhf.config.loader import dump_yaml
    from rlhf.config.secrets import mask_secrets

    sid = f"{run.key}-config" if run.key else "config"
    intro = Para(["The resolved config of the run (", Code(str(run.path / "config.yaml")), "), with passwords, "
                  "secrets, tokens and the passwords in URLs masked as ***."])
    return Section(sid, "Config", [intro, Pre(dump_yaml(mask_secrets(run.config)), "yaml")], level)


def run_sections(run: "Run", plots: dict[str, Plot], count: int, level: int) -> list[Section]:
    prefix = f"{run.key}-" if run.key else ""
    sections = [s for s in (human_section(run, level),) if s] + [training_section(run, plots.get(prefix + "training"), level)]
    if run.eval:
        sections += [distribution_section(run, plots.get(prefix + "reward_distribution"), level),
                     lengths_section(run, plots.get(prefix + "lengths"), level)]
    else:
        sid = f"{run.key}-evaluation" if run.key else "evaluation"
        sections.append(Section(sid, "Evaluation", [missing("evaluation", "evaluate", run)], level))
    sections += labels_section(run, level) + [reward_model_section(run, level)]
    if run.eval:
        summaries = summaries_section(run, plots.get(prefix + "summaries"), level)
        sections += [s for s in (summaries, samples_section(run, count, level)) if s]
    return sections + [config_section(run, level)]


def build_document(runs: Sequence["Run"], plots: dict[str, Plot], count: int, generated) -> Document:
    if len(runs) == 1:
        run = runs[0]
        sections = [win_rate_section(runs, plots.get("win_rates"))] + run_sections(run, plots, count, level=2)
        return Document(f"RLHF report: {run.name}", intro(runs, generated), sections)
    sections = [comparison_section(runs), win_rate_section(runs, plots.get("win_rates"))]
    for run in runs:
        sections.append(Section(f"run-{run.key}", f"Run {run.name}", [Para([f"Directory {run.path}"])]))
        sections += run_sections(run, plots, count, level=3)
    return Document(f"RLHF report: {', '.join(run.name for run in runs)}", intro(runs, generated), sections)
