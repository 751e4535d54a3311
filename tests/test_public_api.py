"""The curated public API: sorted ``__all__``, every name importable, one exception tree."""

from __future__ import annotations

import inspect

import parallax
from parallax import errors


def _isort_key(name: str) -> tuple[int, str]:
    # isort style, as ruff's RUF022 enforces: CONSTANTS, then Classes, then functions.
    kind = 0 if name.isupper() else 1 if name[0].isupper() else 2
    return kind, name


def test_all_is_sorted_and_importable() -> None:
    assert list(parallax.__all__) == sorted(parallax.__all__, key=_isort_key)
    for name in parallax.__all__:
        assert getattr(parallax, name) is not None


def test_unknown_attribute_raises() -> None:
    try:
        parallax.does_not_exist  # noqa: B018
    except AttributeError as exc:
        assert "does_not_exist" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_every_error_derives_from_parallax_error_with_a_unique_code() -> None:
    classes = [
        obj
        for _, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, Exception) and obj.__module__ == errors.__name__
    ]
    assert len(classes) >= 10
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes)), codes
    for cls in classes:
        assert issubclass(cls, errors.ParallaxError)
        assert cls.__doc__, f"{cls.__name__} needs a one-line docstring"
        # the module docstring draws the tree: every class must be in it
        assert cls.__name__ in (errors.__doc__ or "")


def test_input_error_names_file_line_and_record() -> None:
    err = errors.RecordInputError("not valid JSON", path="feed.jsonl", line=7)
    assert str(err) == "feed.jsonl:7: not valid JSON"
    assert err.path == "feed.jsonl" and err.line == 7
    err = errors.UnsupportedInputError("not HTML", path="crawl.warc.gz", record="12")
    assert str(err) == "crawl.warc.gz (record 12): not HTML"


def test_input_errors_survive_pickling() -> None:
    import pickle

    err = errors.EncodingInputError("cannot decode", path="x.txt", line=2, record="r1")
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is errors.EncodingInputError
    assert str(again) == str(err)
    assert (again.path, again.line, again.record) == ("x.txt", 2, "r1")
