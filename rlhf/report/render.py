"""The report as a small document model, rendered to markdown and to self-contained HTML.

Section builders produce blocks of plain text; only the renderers know markup. That keeps the two
formats in step and puts all escaping in one place: every string in a block is treated as
untrusted (model samples, queries, run names from configs) and escaped by the renderer, so text
such as `<script>` or `![img](http://x)` shows literally and runs or fetches nothing. The HTML
carries its figures as data: URIs, so the page alone is the whole report (mailed, moved, or with
plots/ deleted); markdown links the PNG files beside it.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from typing import Union


@dataclass
class Code:
    """Inline code, e.g. a command to run next."""

    text: str


Inline = Union[str, Code]


@dataclass
class Para:
    parts: list[Inline]
    note: bool = False  # a caveat the reader must not miss: set off from the text around it


@dataclass
class Bullets:
    items: list[list[Inline]]


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    css_class: str = ""  # "samples" gives long text columns room in HTML


@dataclass
class Pre:
    """Preformatted text shown as it is, e.g. the run's config as YAML."""

    text: str
    language: str = ""  # for markdown's fence, e.g. yaml


@dataclass
class Plot:
    """A drawn figure: its PNG file relative to the report (e.g. plots/win_rates.png) and its bytes."""

    src: str
    png: bytes


@dataclass
class Image:
    plot: Plot
    alt: str


Block = Union[Para, Bullets, Table, Pre, Image]


@dataclass
class Section:
    id: str  # made by the builders from fixed words and slugs, used as the anchor
    title: str
    blocks: list[Block] = field(default_factory=list)
    level: int = 2


@dataclass
class Document:
    title: str
    intro: list[Block]
    sections: list[Section]


# Every character that can open markup in CommonMark/GFM (links and images need `[`, raw HTML `<`),
# plus `&` (entities) and `$` (GitHub math). Backslash escapes work for any ASCII punctuation.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&#$])")


def md_escape(text: str) -> str:
    """`text` as literal markdown on one line (newlines become <br>, which tables need)."""
    escaped = _MD_SPECIAL.sub(r"\\\1", str(text))
    return escaped.replace("\r\n", "\n").replace("\n", "<br>")


def _md_code(text: str) -> str:
    # A code span cannot escape backticks, so its fence must be longer than any run inside it.
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _md_inline(parts: list[Inline]) -> str:
    return "".join(_md_code(p.text) if isinstance(p, Code) else md_escape(p) for p in parts)


def _md_fence(text: str) -> str:
    """A fence longer than any run of backticks in `text`, so nothing inside closes it."""
    return "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))


def _md_block(block: Block) -> str:
    if isinstance(block, Para):
        return ("> " if block.note else "") + _md_inline(block.parts)
    if isinstance(block, Bullets):
        return "\n".join(f"- {_md_inline(item)}" for item in block.items)
    if isinstance(block, Image):
        return f"![{md_escape(block.alt)}]({block.plot.src})"
    if isinstance(block, Pre):
        fence = _md_fence(block.text)
        return f"{fence}{block.language}\n{block.text.rstrip()}\n{fence}"
    cells = lambda row: "| " + " | ".join(md_escape(c) for c in row) + " |"
    return "\n".join([cells(block.header), "|" + "---|" * len(block.header)] + [cells(r) for r in block.rows])


def render_markdown(doc: Document) -> str:
    lines = [f"# {md_escape(doc.title)}", ""]
    lines += [_md_block(b) + "\n" for b in doc.intro]
    lines += ["**Contents**", ""]
    lines += [f"{'  ' * (s.level - 2)}- [{md_escape(s.title)}](#{s.id})" for s in doc.sections] + [""]
    for section in doc.sections:
        # An explicit anchor: headings holding run names would get unpredictable automatic ids.
        lines += [f'<a id="{section.id}"></a>', "", f"{'#' * section.level} {md_escape(section.title)}", ""]
        lines += [_md_block(b) + "\n" for b in section.blocks]
    return "\n".join(lines).rstrip() + "\n"


def _h(text) -> str:
    return html.escape(str(text), quote=True)


def _html_inline(parts: list[Inline]) -> str:
    return "".join(f"<code>{_h(p.text)}</code>" if isinstance(p, Code) else _h(p) for p in parts)


def _html_block(block: Block) -> str:
    if isinstance(block, Para):
        css = ' class="note"' if block.note else ""
        return f"<p{css}>{_html_inline(block.parts)}</p>"
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{_html_inline(item)}</li>" for item in block.items) + "</ul>"
    if isinstance(block, Image):
        data = base64.b64encode(block.plot.png).decode("ascii")
        return f'<figure><img src="data:image/png;base64,{data}" alt="{_h(block.alt)}"></figure>'
    if isinstance(block, Pre):
        return f'<pre class="config">{_h(block.text)}</pre>'
    head = "".join(f"<th>{_h(c)}</th>" for c in block.header)
    body = "".join("<tr>" + "".join(f"<td>{_h(c)}</td>" for c in row) + "</tr>" for row in block.rows)
    css = f' class="{_h(block.css_class)}"' if block.css_class else ""
    return f'<div class="scroll"><table{css}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


# No script may run in a report, whatever a sample contains: the policy forbids scripts, plugins,
# forms and every fetch, local files included, and allows only the page's own data: images and
# inline style. So a page that shows its figures shows them from itself.
_CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        "script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'")

_CSS = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 1.5rem 2rem 4rem; }
h1 { font-size: 1.7rem; border-bottom: 2px solid #d0d7de; padding-bottom: .3rem; }
h2 { font-size: 1.35rem; margin-top: 2.2rem; border-bottom: 1px solid #d0d7de; padding-bottom: .2rem; }
h3 { font-size: 1.1rem; margin-top: 1.6rem; } h4 { font-size: 1rem; margin-top: 1.3rem; }
nav { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: .5rem 1.2rem; }
nav ul { margin: .3rem 0; padding-left: 1.2rem; } nav li.l3 { margin-left: 1.2rem; } nav li.l4 { margin-left: 2.4rem; }
a { color: #0969da; text-decoration: none; } a:hover { text-decoration: underline; }
code { background: #f6f8fa; border-radius: 4px; padding: .1rem .3rem; font-size: .9em; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .92rem; }
th, td { border: 1px solid #d0d7de; padding: .35rem .6rem; text-align: left; vertical-align: top;
         white-space: pre-wrap; }
th { background: #f6f8fa; }
tbody tr:nth-child(even) { background: #fafbfc; }
table.samples td { min-width: 9rem; max-width: 24rem; }
figure { margin: 1rem 0; } img { max-width: 100%; height: auto; }
pre.config { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: .6rem 1rem;
             font-size: .82rem; line-height: 1.35; column-width: 24rem; column-rule: 1px solid #d0d7de;
             white-space: pre-wrap; overflow-wrap: anywhere; }
p.note { border-left: 4px solid #bf8700; background: #fff8c5; padding: .4rem .8rem; }
"""


def render_html(doc: Document) -> str:
    toc = "".join(f'<li class="l{s.level}"><a href="#{s.id}">{_h(s.title)}</a></li>' for s in doc.sections)
    parts = [f"<h1>{_h(doc.title)}</h1>"] + [_html_block(b) for b in doc.intro]
    parts.append(f"<nav><strong>Contents</strong><ul>{toc}</ul></nav>")
    for s in doc.sections:
        parts.append(f'<h{s.level} id="{s.id}">{_h(s.title)}</h{s.level}>')
        parts += [_html_block(b) for b in s.blocks]
    body = "\n".join(parts)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_h(doc.title)}</title>
<style>{_CSS}</style>
</head>
<body><main>
{body}
</main></body>
</html>
"""


def slug(text: str) -> str:
    """An anchor or file-name fragment: lower-case letters, digits and hyphens only."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "run"
