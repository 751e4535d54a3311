"""The one exception tree of Parallax.

Every error Parallax raises on purpose derives from :class:`ParallaxError`, and every
user-facing one carries a stable ``code`` and a message that names the file (and line or
record) involved, what was wrong and what to do about it::

    ParallaxError
    ├── ConfigError              bad settings, unknown model, missing optional extra
    ├── InputError               one input file or record cannot be used
    │   ├── EmptyInputError          the file or record has no text
    │   ├── BinaryInputError         the file is not text
    │   ├── EncodingInputError       the bytes do not decode
    │   ├── RecordInputError         a JSON/JSONL record is broken or lacks fields
    │   ├── NoArticleBodyError       an HTML page with no extractable article body
    │   ├── TooLargeInputError       the file or record exceeds the size limit
    │   ├── UnsupportedInputError    a file type Parallax does not read
    │   ├── TruncatedInputError      an archive or gzip stream ends in the middle of a record
    │   └── NoUsableInputError       not one input could be used (all missing or bad)
    ├── AnalysisError            a stage cannot run on what it was given
    │   └── ReportPendingError       a report is still being computed (the server answers 503)
    ├── StoreError               the embedded store is unusable
    │   ├── NotFoundError            no story/article with that id
    │   └── StoreBusyError           another writer holds the store
    └── EvaluationError          an evaluation data set is missing or malformed

The CLI turns a ``ParallaxError`` into a one-line message and a non-zero exit code
(:class:`parallax.cli.ExitCode`: 3 nothing usable, 4 a bad input under ``--strict``, 5 store
busy, 1 anything else); no traceback reaches a user for bad input.
"""

from __future__ import annotations

from pathlib import Path

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def safe_text(text: str) -> str:
    """``text`` with everything unprintable escaped, so that it fits on one line and encodes as UTF-8.

    File names are bytes: one that is not valid UTF-8 reaches Python with its bad bytes as lone
    surrogates (``surrogateescape``), which no UTF-8 output (terminal, JSON, SQLite) accepts; a name
    may also hold a newline or control bytes, which would break a one-line message. Such a byte
    is shown as ``\\xNN`` (a newline as ``\\n``), other unprintable characters as ``\\uNNNN``.
    """
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable():
            out.append(ch)
            continue
        code = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out)


class ParallaxError(Exception):
    """Base class of every error Parallax raises on purpose."""

    code = "PX000"


class ConfigError(ParallaxError):
    """Settings are invalid, or a model or optional extra is not available."""

    code = "PX100"


class InputError(ParallaxError):
    """One input file or record cannot be used; other inputs may still be fine."""

    code = "PX200"
    reason = "invalid input"

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        record: str | None = None,
    ) -> None:
        self.path = safe_text(str(path)) if path is not None else None
        self.line = line
        self.record = record
        self.detail = message
        where = self.path or "<input>"
        if line is not None:
            where += f":{line}"
        if record is not None:
            where += f" (record {record})"
        super().__init__(f"{where}: {message}")

    def __reduce__(self) -> tuple[object, ...]:
        # Rebuild from the parts, not from str(self): pickling (Dask workers) must not repeat
        # the file location in the message.
        return (_rebuild_input_error, (type(self), self.detail, self.path, self.line, self.record))


def _rebuild_input_error(
    cls: type[InputError], detail: str, path: str | None, line: int | None, record: str | None
) -> InputError:
    return cls(detail, path=path, line=line, record=record)


class EmptyInputError(InputError):
    """The file or record holds no article text."""

    code = "PX201"
    reason = "empty"


class BinaryInputError(InputError):
    """The file looks binary (NUL bytes or mostly control characters)."""

    code = "PX202"
    reason = "binary"


class EncodingInputError(InputError):
    """The bytes cannot be decoded as text in any supported encoding."""

    code = "PX203"
    reason = "encoding"


class RecordInputError(InputError):
    """A JSON or JSONL record is malformed or lacks a usable text field."""

    code = "PX204"
    reason = "broken record"


class NoArticleBodyError(InputError):
    """An HTML page from which no article body could be extracted."""

    code = "PX205"
    reason = "no article body"


class TooLargeInputError(InputError):
    """The file or record is larger than the configured limit."""

    code = "PX206"
    reason = "too large"


class UnsupportedInputError(InputError):
    """A file type or record type Parallax does not read."""

    code = "PX207"
    reason = "unsupported"


class TruncatedInputError(InputError):
    """A WARC or gzip file ends in the middle of a record (a download cut short)."""

    code = "PX209"
    reason = "truncated"


class NoUsableInputError(InputError):
    """Not one of the inputs could be used: every path was missing, or every record was bad."""

    code = "PX208"
    reason = "no usable input"


class AnalysisError(ParallaxError):
    """A pipeline stage cannot run on what it was given."""

    code = "PX300"


class ReportPendingError(AnalysisError):
    """A story's report is still being computed, or too many are queued; ask again shortly."""

    code = "PX301"


class StoreError(ParallaxError):
    """The embedded store cannot be opened, migrated or written."""

    code = "PX400"


class NotFoundError(StoreError):
    """No story or article with the requested id exists."""

    code = "PX404"


class StoreBusyError(StoreError):
    """Another writer (an ingest, or the server adding articles) holds the store's writer lock."""

    code = "PX409"


class EvaluationError(ParallaxError):
    """An evaluation data set is missing or malformed."""

    code = "PX500"
