"""The ``parallax`` command line: thin click commands over library calls.

Only this module prints. A :class:`~parallax.errors.ParallaxError` becomes a one-line message on
stderr and exit code 1 (2 for usage errors, as click does); no traceback reaches a user for bad
input. Subcommands living in other modules are imported lazily so that ``parallax --help``
stays fast.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from parallax import __version__
from parallax.errors import ParallaxError

F = TypeVar("F", bound=Callable[..., Any])


class LazyGroup(click.Group):
    """A click group whose subcommands are ``"module:attribute"`` strings imported on use."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module_name, attr = self.lazy[cmd_name].split(":")
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                raise click.ClickException(f"command {cmd_name!r} is not available: {exc}") from exc
            cmd = getattr(module, attr)
            if not isinstance(cmd, click.Command):
                raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
            return cmd
        return super().get_command(ctx, cmd_name)


# --- shared options (reusable decorators) ------------------------------------------------------


def format_option(*choices: str, default: str = "json") -> Callable[[F], F]:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=default,
        show_default=True,
        help="Output format.",
    )


def output_option(func: F) -> F:
    return click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Write to FILE instead of stdout.",
    )(func)


def db_option(func: F) -> F:
    return click.option(
        "--db",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="PARALLAX_DB",
        default="parallax.db",
        show_default=True,
        help="SQLite store (also PARALLAX_DB).",
    )(func)


def model_options(func: F) -> F:
    func = click.option(
        "--spacy-model",
        default=None,
        help="spaCy pipeline name or path (default: en_core_web_sm if installed).",
    )(func)
    func = click.option(
        "--embedder",
        default=None,
        help="Sentence embedder: minilm (default), hashing, or a sentence-transformers model name/path.",
    )(func)
    return func


def emit(text: str, output: Path | None) -> None:
    """Write ``text`` to ``output`` or stdout."""
    if output is None:
        click.echo(text)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


# --- the group ----------------------------------------------------------------------------------


@click.group(
    cls=LazyGroup,
    lazy={
        "ingest": "parallax.corpus_cli:ingest_cmd",
        "stories": "parallax.corpus_cli:stories_cmd",
        "report": "parallax.corpus_cli:report_cmd",
        "export": "parallax.corpus_cli:export_cmd",
        "serve": "parallax.server.cli:serve_cmd",
    },
)
@click.version_option(__version__, prog_name="parallax")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """Parallax: how different news outlets cover the same event, with evidence."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@format_option("json", "md", "html")
@output_option
@click.option("--sentences", type=click.IntRange(1, 50), default=None, help="Summary length (default 5).")
@click.option("--strict", is_flag=True, help="Stop at the first bad input instead of skipping it.")
@model_options
def compare(
    paths: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    sentences: int | None,
    strict: bool,
    spacy_model: str | None,
    embedder: str | None,
) -> None:
    """Compare the articles in PATHS (files or directories) and print a cited StoryReport."""
    from parallax.pipeline import Parallax
    from parallax.render import render
    from parallax.settings import load_settings

    settings = load_settings(summary_sentences=sentences, spacy_model=spacy_model, embedder=embedder)
    result = Parallax(settings=settings).compare_paths(list(paths), strict=strict)
    for err in result.errors:
        click.echo(f"skipped {err}", err=True)
    emit(render(result.report, fmt), output)


@cli.command()
@output_option
def schema(output: Path | None) -> None:
    """Print the JSON Schema of the StoryReport."""
    import json

    from parallax.report import json_schema

    emit(json.dumps(json_schema(), indent=2, ensure_ascii=False), output)


@cli.group(
    "eval",
    cls=LazyGroup,
    lazy={
        "align": "parallax.evaluation.align:command",
        "quotes": "parallax.evaluation.quotes:command",
        "summary": "parallax.evaluation.summary:command",
        "loaded": "parallax.evaluation.loaded:command",
        "timex": "parallax.evaluation.timex:command",
        "clustering": "parallax.evaluation.clustering:command",
        "conflicts": "parallax.evaluation.conflicts:command",
        "extraction": "parallax.evaluation.extraction:command",
    },
)
def eval_group() -> None:
    """Score Parallax against labelled data, with a peer measured in the same run."""


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning ParallaxError into a one-line message."""
    try:
        rv = cli.main(args=argv, prog_name="parallax", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ParallaxError as exc:
        click.echo(f"error [{exc.code}]: {exc}", err=True)
        sys.exit(1)
    except BrokenPipeError:
        sys.exit(0)
    if isinstance(rv, int) and rv:
        sys.exit(rv)


if __name__ == "__main__":  # pragma: no cover
    main()
