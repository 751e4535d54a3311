"""Every CLI command has help; errors are one line without a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from parallax.cli import ExitCode, cli, main


def _all_commands(group: click.Group, ctx: click.Context, prefix: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        assert cmd is not None, name
        yield (*prefix, name), cmd
        if isinstance(cmd, click.Group):
            yield from _all_commands(cmd, ctx, (*prefix, name))


def test_every_command_has_help() -> None:
    ctx = click.Context(cli)
    seen = []
    for path, cmd in _all_commands(cli, ctx):
        assert cmd.help or cmd.short_help, f"{' '.join(path)} has no help text"
        result = CliRunner().invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output
        seen.append(" ".join(path))
    for expected in ("compare", "schema", "eval", "eval quotes", "eval summary", "ingest", "stories"):
        assert expected in seen


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and "parallax" in result.output


def test_schema_command_prints_json_schema() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["title"] == "StoryReport"
    assert "schema_version" in schema["properties"]


def test_bad_input_is_one_line_without_traceback(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    proc = subprocess.run(
        [sys.executable, "-m", "parallax.cli", "compare", "--strict", str(empty)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == ExitCode.STRICT_SKIP
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert "empty.txt" in lines[0]


def test_compare_with_nothing_usable_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", str(tmp_path), str(tmp_path / "missing.txt")])
    assert exit_info.value.code == ExitCode.NOTHING_USABLE
    assert "no usable article in the 3 input(s)" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["compare"], ["compare", "--format", "pdf", "x.txt"]])
def test_usage_errors(args: list[str]) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
