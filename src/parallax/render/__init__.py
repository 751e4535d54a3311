"""Render a :class:`~parallax.report.StoryReport` as JSON, Markdown or one self-contained HTML page.

The CLI (``parallax compare --format``) and the web server render the same ``StoryReport`` with
these functions; the server embeds the pieces (:func:`story_fragment`, :func:`article_fragment`,
:func:`stylesheet`) in its own pages.
"""

from __future__ import annotations

from parallax.errors import ConfigError
from parallax.render.html import article_fragment, render_html, story_fragment, stylesheet
from parallax.render.markdown import render_markdown
from parallax.report import StoryReport

#: Output formats :func:`render` accepts.
FORMATS = ("json", "md", "html")


def render(report: StoryReport, fmt: str) -> str:
    """``report`` in format ``fmt``: ``json`` (the schema'd JSON), ``md`` or ``html`` (standalone page)."""
    if fmt == "json":
        return report.to_json()
    if fmt == "md":
        return render_markdown(report)
    if fmt == "html":
        return render_html(report)
    raise ConfigError(f"unknown output format {fmt!r}: choose one of {', '.join(FORMATS)} (--format)")


__all__ = [
    "FORMATS",
    "article_fragment",
    "render",
    "render_html",
    "render_markdown",
    "story_fragment",
    "stylesheet",
]
