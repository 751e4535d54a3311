"""The ``parallax`` command line: thin click commands over library calls.

Only this module prints. A :class:`~parallax.errors.ParallaxError` becomes a one-line message on
stderr and an :class:`ExitCode` (2 for usage errors, as click does); no traceback reaches a user
for bad input. Subcommands living in other modules are imported lazily so that ``parallax --help``
stays fast.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable
from enum import IntEnum
from pathlib import Path
from typing import Any, TypeVar

import click

from parallax import __version__
from parallax.errors import InputError, NoUsableInputError, ParallaxError, StoreBusyError, safe_text

F = TypeVar("F", bound=Callable[..., Any])


class ExitCode(IntEnum):
    """The exit status of every ``parallax`` command, for scripts (documented in the README).

    Without ``--strict`` a bad file or record is skipped, reported on stderr (and in the store's
    ``skipped`` table) and does not change the status: the user asked Parallax to carry on, and a
    feed with one broken record must not fail a nightly job. A script that must not lose a record
    passes ``--strict``, which stops at the first bad one with :attr:`STRICT_SKIP`.
    """

    OK = 0  #: every input was used (stored, already stored, or compared), or skipped without --strict
    ERROR = 1  #: Parallax could not do the work (unusable store, analysis failure, ...)
    USAGE = 2  #: the command line is wrong (click's code)
    NOTHING_USABLE = 3  #: not one input could be used: missing paths, all binary/empty/broken
    STRICT_SKIP = 4  #: --strict: a bad input stopped the run (what came before it stays stored)
    BUSY = 5  #: another writer holds the store (see --wait)
    INTERRUPTED = 130  #: Ctrl-C (the ingest run is marked interrupted; re-running resumes)


def exit_code_of(exc: ParallaxError) -> ExitCode:
    """The :class:`ExitCode` for an error that ended a command."""
    if isinstance(exc, NoUsableInputError):
        return ExitCode.NOTHING_USABLE
    if isinstance(exc, StoreBusyError):
        return ExitCode.BUSY
    if isinstance(exc, InputError):  # without --strict input errors are skipped, never raised
        return ExitCode.STRICT_SKIP
    return ExitCode.ERROR


def exit_codes_help(*, writes_store: bool) -> str:
    """The exit codes as a help paragraph (``\\b`` keeps click from re-wrapping it)."""
    busy = "5 another writer holds the store (see --wait); " if writes_store else ""
    return (
        "\b\nExit codes: 0 all inputs used (bad ones skipped and listed, unless --strict);\n"
        "3 nothing usable (missing paths, all inputs bad); 4 --strict stopped at a bad input;\n"
        f"{busy}1 other errors; 2 usage; 130 interrupted."
    )


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
        help="Sentence embedder: minilm-onnx (default: int8 on onnxruntime, no torch), minilm-numpy "
        "(the same model in numpy), minilm-static (static vectors "
        "distilled from MiniLM: fast, less accurate), minilm-cascade (static vectors, MiniLM only for "
        "undecided pairs), minilm (sentence-transformers), hashing, "
        "a converted model directory, or a sentence-transformers model name/path.",
    )(func)
    return func


def outlet_option(func: F) -> F:
    return click.option(
        "--outlet",
        default=None,
        metavar="NAME",
        help="The outlet of every input file (overrides what the files say; 'fox' gives 'Fox News'). "
        "Add or rename outlets for good with the outlets_file setting.",
    )(func)


def emit(text: str, output: Path | None) -> None:
    """Write ``text`` to ``output`` or stdout."""
    if output is None:
        click.echo(text)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        click.echo(f"wrote {safe_text(str(output))}", err=True)


# --- the group ----------------------------------------------------------------------------------


@click.group(
    cls=LazyGroup,
    lazy={
        "ingest": "parallax.corpus_cli:ingest_cmd",
        "stories": "parallax.corpus_cli:stories_cmd",
        "report": "parallax.corpus_cli:report_cmd",
        "export": "parallax.corpus_cli:export_cmd",
        "outlets": "parallax.profiles_cli:outlets_cmd",
        "serve": "parallax.server.cli:serve_cmd",
    },
)
@click.version_option(__version__, prog_name="parallax")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """Parallax: how different news outlets cover the same event, with evidence."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


@cli.command(epilog=exit_codes_help(writes_store=False))
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@format_option("json", "md", "html")
@output_option
@click.option("--sentences", type=click.IntRange(1, 50), default=None, help="Summary length (default 5).")
@click.option("--strict", is_flag=True, help="Stop at the first bad input (exit 4) instead of skipping it.")
@outlet_option
@model_options
def compare(
    paths: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    sentences: int | None,
    strict: bool,
    outlet: str | None,
    spacy_model: str | None,
    embedder: str | None,
) -> None:
    """Compare the articles in PATHS (files or directories) and print a cited StoryReport."""
    from parallax.pipeline import Parallax
    from parallax.render import render
    from parallax.settings import load_settings

    settings = load_settings(
        summary_sentences=sentences, spacy_model=spacy_model, embedder=embedder, outlet=outlet
    )
    result = Parallax(settings=settings).compare_paths(list(paths), strict=strict)
    for err in result.errors:
        click.echo(f"skipped {safe_text(str(err))}", err=True)
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
        "labels": "parallax.evaluation.labels:command",
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
        sys.exit(ExitCode.INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ParallaxError as exc:
        click.echo(f"error [{exc.code}]: {safe_text(str(exc))}", err=True)
        sys.exit(exit_code_of(exc))
    except BrokenPipeError:
        sys.exit(0)
    if isinstance(rv, int) and rv:
        sys.exit(rv)


if __name__ == "__main__":  # pragma: no cover
    main()
