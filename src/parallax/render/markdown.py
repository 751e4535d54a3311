"""Render a :class:`~parallax.report.StoryReport` as Markdown (CommonMark with GitHub tables).

Every piece of article-derived text goes through :func:`md_escape` (or :func:`md_code` for
ids), so an article cannot inject links, emphasis, table cells or raw HTML into the report.
Citations are links to ``#{article}-s{n}`` anchors, the same anchors the HTML page uses; the
"Evidence" section at the end defines them, so the links also work inside the Markdown file.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from parallax.render.html import (
    STATUS_ORDER,
    EvidenceContext,
    fact_text,
    is_web_url,
    outlet_labels,
    shorten,
    span_anchor,
)
from parallax.report import DiffOpModel, EvidenceSpan, FactModel, StoryReport

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~#])")
_ENTITY_LIKE = re.compile(r"&(?=#?\w+;)")
_PLAIN_ID = re.compile(r"[\w.:-]+")


def md_escape(text: str) -> str:
    """``text`` on one line, safe to place inline in Markdown or a table cell.

    Whitespace is folded (a newline would end a table row), Markdown punctuation is
    backslash-escaped, and ``<``/``>`` (and an ``&`` that starts an entity) become HTML entities
    so that no tag or autolink survives in any renderer.
    """
    folded = " ".join(text.split())
    folded = _ENTITY_LIKE.sub("&amp;", folded)
    folded = _MD_SPECIAL.sub(r"\\\1", folded)
    return folded.replace("<", "&lt;").replace(">", "&gt;")


def md_code(text: str) -> str:
    """An id as inline code; an id with characters beyond ``[\\w.:-]`` is escaped text instead.

    Code spans are literal in CommonMark, but not every Markdown consumer treats them so; an id
    that could carry markup is therefore never put in one.
    """
    if _PLAIN_ID.fullmatch(text):
        return f"`{text}`"
    return md_escape(text)


def md_diff(ops: Sequence[DiffOpModel]) -> str:
    """A word diff: deleted words struck through (``~~a~~``), inserted words in bold (``**b**``)."""
    parts: list[str] = []
    for op in ops:
        if op.op == "equal":
            parts.append(md_escape(op.a))
        elif op.op == "delete":
            parts.append(f"~~{md_escape(op.a)}~~")
        elif op.op == "insert":
            parts.append(f"**{md_escape(op.b)}**")
        else:
            parts.append(f"~~{md_escape(op.a)}~~ **{md_escape(op.b)}**")
    return " ".join(p for p in parts if p)


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines.extend("| " + " | ".join(cell or " " for cell in row) + " |" for row in rows)
    return lines


class _Citations:
    """Collects the evidence the report cites, in order of first citation, for the Evidence section."""

    def __init__(self) -> None:
        self.spans: dict[str, EvidenceSpan] = {}

    def link(self, span: EvidenceSpan) -> str:
        anchor = span_anchor(span)
        self.spans.setdefault(anchor, span)
        return f"[{md_escape(span.article)}](#{anchor})"

    def links(self, spans: Iterable[EvidenceSpan]) -> str:
        return ", ".join(dict.fromkeys(self.link(s) for s in spans))


def _in_context(context: EvidenceContext, span: EvidenceSpan) -> str:
    before, hit, after = context(span)
    # md_escape folds edge whitespace; keep the space between the span and its context.
    pre = md_escape(before) + (" " if before[-1:].isspace() else "")
    post = (" " if after[:1].isspace() else "") + md_escape(after)
    return f"{pre}**{md_escape(hit)}**{post}"


@dataclass
class _Context:
    """What every section needs: outlet names, the citation collector, evidence in context."""

    report: StoryReport
    esc_label: dict[str, str] = field(init=False)
    cites: _Citations = field(default_factory=lambda: _Citations())
    context: EvidenceContext = field(init=False)
    facts: dict[str, FactModel] = field(init=False)

    def __post_init__(self) -> None:
        self.esc_label = {k: md_escape(v) for k, v in outlet_labels(self.report).items()}
        self.context = EvidenceContext(self.report, width=70)
        self.facts = {f.id: f for f in self.report.facts}

    def outlets(self, ids: Iterable[str]) -> str:
        return ", ".join(self.esc_label.get(a, md_escape(a)) for a in ids)


def _articles(report: StoryReport, ctx: _Context) -> list[str]:
    """Articles table: id, outlet and where its name came from, date, title, removed lines."""
    esc_label = ctx.esc_label
    out: list[str] = []
    out += ["## Articles", ""]
    rows = []
    for art in report.articles:
        where = md_escape(art.outlet_source)
        if art.url:
            safe_link = is_web_url(art.url) and not re.search(r"[\s<>|]", art.url)
            where += f" · <{art.url}>" if safe_link else f" · {md_escape(art.url)}"
        rows.append(
            [
                md_code(art.id),
                f"{esc_label[art.id]} ({where})",
                md_escape(art.published) if art.published else "unknown",
                md_escape(art.title) if art.title else "—",
                str(len(art.removed)),
            ]
        )
    out += [*_table(["id", "outlet (from)", "published", "title", "removed lines"], rows), ""]
    return out


def _summary(report: StoryReport, ctx: _Context) -> list[str]:
    """The neutral summary, each entry with links to its evidence."""
    cites = ctx.cites
    out: list[str] = []
    out += ["## Neutral summary", ""]
    if report.summary:
        for i, entry in enumerate(report.summary, 1):
            tag = "**Disputed:** " if entry.kind == "dispute" else ""
            refs = cites.links(entry.evidence)
            out.append(f"{i}. {tag}{md_escape(entry.text)}" + (f" — {refs}" if refs else ""))
    else:
        out.append("_No summary._")
    out.append("")
    return out


def _coverage(report: StoryReport, ctx: _Context) -> list[str]:
    """Facts x outlets matrix, then what each outlet leaves out."""
    esc_label, facts = ctx.esc_label, ctx.facts
    out: list[str] = []
    out += ["## Coverage", ""]
    if report.facts:
        header = ["fact", "status", *(esc_label[a.id] for a in report.articles)]
        rows = []
        for fact in report.facts:
            present = {m.article for m in fact.mentions} | set(fact.articles)
            rows.append(
                [
                    f"{md_code(fact.id)} {md_escape(shorten(fact_text(fact), 160))}",
                    fact.status,
                    *("✓" if a.id in present else "·" for a in report.articles),
                ]
            )
        out += [*_table(header, rows), ""]
    else:
        out += ["_No facts were aligned._", ""]
    out += ["### What each outlet leaves out", ""]
    missed_by = {o.article: o.facts for o in report.omissions}
    for art in report.articles:
        missed = missed_by.get(art.id, [])
        if not missed:
            out.append(f"- **{esc_label[art.id]}**: nothing the others report")
            continue
        out.append(f"- **{esc_label[art.id]}** leaves out {len(missed)} (most widely reported first):")
        for fid in missed[:OMISSIONS_SHOWN]:
            missing = facts.get(fid)
            text = md_escape(shorten(fact_text(missing), 200)) if missing else ""
            carried = ", ".join(esc_label.get(a, md_escape(a)) for a in missing.articles) if missing else ""
            out.append(f"  - {md_code(fid)} {text}{f' ({carried})' if carried else ''}".rstrip())
        if len(missed) > OMISSIONS_SHOWN:
            out.append(f"  - … and {len(missed) - OMISSIONS_SHOWN} more (in the JSON report)")
    out.append("")
    return out


#: Omissions listed per outlet in Markdown; the rest are counted (the JSON report has them all).
OMISSIONS_SHOWN = 8


def _quotes(report: StoryReport, ctx: _Context) -> list[str]:
    """Each shared quote with its renderings, fidelity and word diff."""
    esc_label = ctx.esc_label
    out: list[str] = []
    out += ["## Quotes across outlets", ""]
    if not report.quotes:
        out += ["_No quotations found._", ""]
    for quote in report.quotes:
        speaker = md_escape(quote.speaker) if quote.speaker else "unknown speaker"
        out += [f"### {speaker} · {md_code(quote.id)}", "", f"> {md_escape(quote.text)}", ""]
        rows = []
        for r in quote.renderings:
            wording = md_diff(r.diff) if r.diff else md_escape(r.text)
            cue = md_escape(r.cue) if r.cue else "—"
            rows.append([esc_label.get(r.article, md_escape(r.article)), r.fidelity, cue, wording])
        out += [*_table(["outlet", "fidelity", "cue", "as printed (~~missing~~ **changed**)"], rows), ""]
    return out


def _voices(report: StoryReport, ctx: _Context) -> list[str]:
    """Who speaks in each outlet (quoted / paraphrased), and statements cited differently."""
    from parallax.render.voices import cited_differently, voice_table

    table = voice_table(report)
    out: list[str] = ["## Who speaks", ""]
    if not table.rows:
        return [*out, "_No attributions found._", ""]
    out += ["Attributions per speaker in each outlet: quoted / paraphrased; — never cited.", ""]
    header = ["speaker", *(ctx.esc_label.get(a, md_escape(a)) for a in table.articles)]
    rows = [
        [
            md_escape(row.speaker) if row.speaker else "_unnamed sources_",
            *(f"{c[0]} / {c[1]}" if c else "—" for c in row.cells),
        ]
        for row in table.rows
    ]
    out += [*_table(header, rows), ""]
    if table.more:
        out += [f"_{table.more} more speakers not shown._", ""]
    for s in cited_differently(report):
        speaker = md_escape(s.speaker) if s.speaker else "unknown speaker"
        out += [f"### {speaker} · {md_code(s.id)}", ""]
        for a in s.attributions:
            how = "quotes" if a.kind != "indirect" else "paraphrases"
            cue = f" ({md_escape(a.cue)})" if a.cue else ""
            out.append(
                f"- {ctx.esc_label.get(a.article, md_escape(a.article))} {how}{cue}: {md_escape(a.content)}"
            )
        out.append("")
    return out


def _conflicts(report: StoryReport, ctx: _Context) -> list[str]:
    """Competing values side by side, with outlets and evidence in context."""
    outlets, cites, context = ctx.outlets, ctx.cites, ctx.context
    out: list[str] = []
    out += ["## Conflicts", ""]
    if not report.conflicts:
        out += ["_The outlets do not disagree on any checkable value._", ""]
    for conflict in report.conflicts:
        out += [
            f"### {md_escape(conflict.kind)}: {md_escape(conflict.about)} · {md_code(conflict.id)}",
            "",
            f"Confidence {conflict.confidence:.2f}"
            + (f" · facts {', '.join(md_code(f) for f in conflict.facts)}" if conflict.facts else ""),
            "",
        ]
        rows = []
        for value in conflict.values:
            shown = md_escape(value.value)
            if value.normalized and value.normalized != value.value:
                shown += f" (= {md_escape(value.normalized)})"
            evidence = "; ".join(f"{_in_context(context, s)} {cites.link(s)}" for s in value.evidence)
            rows.append([f"**{shown}**", outlets(value.articles), evidence])
        out += [*_table(["value", "outlets", "evidence"], rows), ""]
    return out


def _framing(report: StoryReport, ctx: _Context) -> list[str]:
    """Labels by entity and outlet, attribution verbs, loaded wording and its density."""
    esc_label = ctx.esc_label
    out: list[str] = []
    out += ["## Framing", "", "### Labels by outlet", ""]
    by_entity: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for label in report.framing.labels:
        shown = f"{md_escape(label.label)} ({md_escape(label.kind)})"
        if shown not in by_entity[label.entity][label.article]:
            by_entity[label.entity][label.article].append(shown)
    if by_entity:
        rows = [
            [f"**{md_escape(entity)}**", *("; ".join(per[a.id]) or "·" for a in report.articles)]
            for entity, per in by_entity.items()
        ]
        out += [*_table(["entity", *(esc_label[a.id] for a in report.articles)], rows), ""]
    else:
        out += ["_No labels found._", ""]
    out += ["### Attribution verbs", ""]
    verbs: dict[tuple[str, str], list[str]] = defaultdict(list)
    for verb in sorted(report.framing.attribution_verbs, key=lambda v: (-v.count, v.verb)):
        verbs[(verb.article, verb.group)].append(f"{md_escape(verb.verb)} ×{verb.count}")
    rows = [
        [
            esc_label[a.id],
            ", ".join(verbs[(a.id, "neutral")]) or "·",
            ", ".join(verbs[(a.id, "loaded")]) or "·",
        ]
        for a in report.articles
    ]
    out += [*_table(["outlet", "neutral", "loaded"], rows), ""]
    out += ["### Loaded wording", ""]
    density = {d.article: d for d in report.framing.density}
    spans: dict[str, list[str]] = defaultdict(list)
    for span in sorted(report.framing.loaded, key=lambda s: (s.article, s.start, s.end)):
        spans[span.article].append(f"“{md_escape(span.text)}” ({span.score:.2f})")
    rows = []
    for art in report.articles:
        d = density.get(art.id)
        rows.append(
            [
                esc_label[art.id],
                f"{d.per_1000_words:.1f}" if d else "—",
                str(d.spans) if d else str(len(spans[art.id])),
                str(d.words) if d else "—",
                "; ".join(spans[art.id]) or "·",
            ]
        )
    out += [*_table(["outlet", "per 1,000 words", "spans", "words", "wording"], rows), ""]
    return out


def _timeline(report: StoryReport, ctx: _Context) -> list[str]:
    """Dated events in order, with outlets and a marker for dates in conflict."""
    outlets, cites = ctx.outlets, ctx.cites
    out: list[str] = []
    out += ["## Timeline", ""]
    if report.timeline:
        rows = []
        for event in report.timeline:
            date = md_escape(event.date) + ("" if event.resolved else " (unresolved)")
            if event.source == "caption":
                date += " (photo caption)"
            marker = f"⚠ {md_code(event.conflict)}" if event.conflict else ""
            rows.append(
                [date, md_escape(event.text), outlets(event.articles), marker, cites.links(event.evidence)]
            )
        out += [*_table(["date", "event", "outlets", "conflict", "evidence"], rows), ""]
    else:
        out += ["_No dated events._", ""]
    return out


def _removed(report: StoryReport, ctx: _Context) -> list[str]:
    """Lines cleaning removed from each article, and near-duplicate copies."""
    esc_label, outlets = ctx.esc_label, ctx.outlets
    out: list[str] = []
    out += ["## Text removed before analysis", ""]
    for art in report.articles:
        out.append(
            f"- **{esc_label[art.id]}**: {len(art.removed)} line{'s' if len(art.removed) != 1 else ''}"
        )
        out.extend(
            f"  - line {line.line} ({md_escape(line.reason)}): {md_escape(line.text)}" for line in art.removed
        )
    out.append("")
    if report.copies:
        out += ["### Near-duplicate copies", ""]
        out += [f"- {outlets([g.article])} is repeated by {outlets(g.copies)}" for g in report.copies]
        out.append("")
    return out


def _evidence(report: StoryReport, ctx: _Context) -> list[str]:
    """Evidence: defines the anchors the citations link to, with the whole sentence when a fact has it."""
    esc_label, cites = ctx.esc_label, ctx.cites
    out: list[str] = []
    if cites.spans:
        sentence_text = {span_anchor(m): m.text for f in report.facts for m in f.mentions}
        out += ["## Evidence", ""]
        for anchor, span in cites.spans.items():
            outlet = esc_label.get(span.article, md_escape(span.article))
            text = md_escape(sentence_text.get(anchor, span.text))
            out.append(f'- <a id="{anchor}"></a>{md_code(anchor)} {outlet}: {text}')
        out.append("")
    return out


_SECTIONS: tuple[Callable[[StoryReport, _Context], list[str]], ...] = (
    _articles,
    _summary,
    _coverage,
    _quotes,
    _voices,
    _conflicts,
    _framing,
    _timeline,
    _removed,
    _evidence,
)


def render_markdown(report: StoryReport) -> str:
    """The whole report as one Markdown document (sections in a fixed order)."""
    ctx = _Context(report)
    counts = {s: sum(1 for f in report.facts if f.status == s) for s in STATUS_ORDER}
    out: list[str] = [
        f"# {md_escape(report.story.title)}",
        "",
        f"Story {md_code(report.story.id)} · {len(report.articles)} articles · {len(report.facts)} facts "
        f"({counts['consensus']} consensus, {counts['partial']} partial, {counts['unique']} unique) · "
        f"{len(report.quotes)} quotes · {len(report.conflicts)} conflicts",
        "",
    ]
    for section in _SECTIONS:
        out += section(report, ctx)
    out.append(
        f"_Generated by {md_escape(report.generator)}, report schema {md_escape(report.schema_version)}._"
    )
    return "\n".join(out) + "\n"


__all__ = ["md_code", "md_diff", "md_escape", "render_markdown"]
