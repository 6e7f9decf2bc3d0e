"""Check that every measured figure in README.md and docs/ is in a results file of the ledger.

    python bench/check_figures.py                      # README.md and docs/*.md against bench/results/
    python bench/check_figures.py NOTES.md --results DIR

The convention the check enforces (README.md, "Tests and benchmarks"):

- A paragraph or table that publishes measurements links the results file(s) they were copied
  from (`bench/results/<name>-<date>.md`, written by `bench/record.py`). A table may instead
  follow a paragraph that links them. Every number in such a block, outside `code` and link
  targets, must occur as a number in one of the linked files (thousands commas and signs are
  ignored). A figure rounded or computed by hand fails: copy what the benchmark printed.
- Outside such blocks, nothing may look like a measurement: a decimal percentage (69.0%), an
  interval ([56.2%, 79.4%]), a ratio (2.6x, 1.78×), a duration in ms or minutes, a range of
  seconds (93-124 s), and in a table any decimal number or percentage. Settings in prose (64-token
  queries, a 60 s lock wait) are plain integers and pass; a table of settings, or of the paper's
  figures, starts with a line `<!-- not measured: REASON -->` (the reason is for the reader).

Exit status 1 lists each offending figure with its file and line.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS_LINK = re.compile(r"bench/results/[\w.\-]+\.md")
NOT_MEASURED = "<!-- not measured:"
NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")
CODE = re.compile(r"`[^`]*`")
LINK_TARGET = re.compile(r"\]\([^)]*\)")
COMMENT = re.compile(r"<!--.*?-->")
LOOKS_MEASURED = [
    re.compile(r"\d+\.\d+\s?%"),  # 69.0%
    re.compile(r"\[\s*\d+(?:\.\d+)?%?,\s*\d+(?:\.\d+)?%?\s*\]"),  # [56.2%, 79.4%]
    re.compile(r"\b\d+(?:\.\d+)?[x×](?![\w])"),  # 2.6x, 1.78×
    re.compile(r"\b\d+(?:\.\d+)?(?:\s?-\s?\d+(?:\.\d+)?)?\s?(?:ms|min|minutes)\b"),  # 14-15 minutes, 80 ms
    re.compile(r"\b\d+(?:\.\d+)?\s?-\s?\d+(?:\.\d+)?\s?s\b"),  # 93-124 s
]
IN_TABLES = [re.compile(r"(?<![\w.-])\d*\.\d+(?![\w.])"), re.compile(r"\d+\s?%")]  # 0.608, 5% (not Apache-2.0)


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the block's first line
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def is_table(self) -> bool:
        rows = [line for line in self.lines if not line.startswith(NOT_MEASURED)]
        return bool(rows) and all(line.lstrip().startswith("|") for line in rows)


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    figure: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.figure!r} {self.why}"


def blocks(path: Path) -> list[Block]:
    """Paragraphs and tables separated by blank lines; fenced code is left out (commands, not figures)."""
    found, current, start, fenced = [], [], 0, False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            line = ""
        if fenced or not line.strip():
            if current:
                found.append(Block(path, start, tuple(current)))
            current = []
            continue
        if not current:
            start = number
        current.append(line)
    if current:
        found.append(Block(path, start, tuple(current)))
    return found


def numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in NUMBER.findall(text)}


def prose(text: str) -> str:
    """The text a reader sees as figures: without code spans, link targets and comments."""
    return COMMENT.sub(" ", LINK_TARGET.sub("]", CODE.sub(" ", text)))


def check_measured(block: Block, links: list[str], root: Path) -> list[Problem]:
    published, problems = set(), []
    for link in links:
        file = root / link
        if not file.is_file():
            problems.append(Problem(block.path, block.line, link, "is linked but does not exist"))
        else:
            published |= numbers(file.read_text(encoding="utf-8"))
    if problems:
        return problems
    for offset, line in enumerate(block.lines):
        for figure in sorted(numbers(prose(RESULTS_LINK.sub(" ", line))) - published, key=line.find):
            problems.append(Problem(block.path, block.line + offset, figure,
                                    f"is in no linked results file ({', '.join(dict.fromkeys(links))})"))
    return problems


def check_unmarked(block: Block) -> list[Problem]:
    if block.lines[0].startswith(NOT_MEASURED):
        return []
    patterns = LOOKS_MEASURED + (IN_TABLES if block.is_table else [])
    problems = []
    for offset, line in enumerate(block.lines):
        seen = prose(line)
        spans = []  # one problem per figure: 56.2% inside [56.2%, 79.4%] is not reported again
        for match in (m for pattern in patterns for m in pattern.finditer(seen)):
            if not any(start <= match.start() and match.end() <= end for start, end in spans):
                spans = [(start, end) for start, end in spans if not match.start() <= start < end <= match.end()]
                spans.append(match.span())
        problems += [Problem(block.path, block.line + offset, seen[start:end],
                             "looks measured but its block links no bench/results file") for start, end in sorted(spans)]
    return problems


def check_file(path: Path, root: Path) -> list[Problem]:
    problems, inherited = [], []
    for block in blocks(path):
        links = RESULTS_LINK.findall(block.text)
        # A table takes the links of the paragraph that introduces it.
        links = links or (inherited if block.is_table else [])
        problems += check_measured(block, links, root) if links else check_unmarked(block)
        inherited = links if not block.is_table else []
    return problems


def default_files(root: Path) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="*", type=Path, help="Markdown files (default: README.md and docs/*.md).")
    p.add_argument("--root", type=Path, default=ROOT, help="Folder the bench/results/ links are relative to.")
    args = p.parse_args(argv)
    files = args.files or default_files(args.root)
    problems = [problem for path in files for problem in check_file(path, args.root)]
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} figure(s) without a producer: copy them from a bench/results file and link it, "
              "or remove them (bench/record.py keeps a benchmark's output there).")
        return 1
    print(f"{len(files)} file(s): every measured figure is in a linked results file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
