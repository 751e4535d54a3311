"""Tests of stage 1 (ingest): every format, every input error, strict mode, paths and outlets."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parallax.errors import (
    BinaryInputError,
    EmptyInputError,
    EncodingInputError,
    InputError,
    NoArticleBodyError,
    RecordInputError,
    TooLargeInputError,
    TruncatedInputError,
    UnsupportedInputError,
)
from parallax.ingest import (
    IngestResult,
    decode_bytes,
    iter_documents,
    normalize_published,
    outlet_from_url,
    read_paths,
    strip_html,
)
from parallax.records import RawDocument
from parallax.settings import Settings

DATA = Path(__file__).parent / "data" / "ingest"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SETTINGS = Settings()
ARTICLE = "The council voted on Tuesday to approve the new park.\nIt will open next spring, the mayor said.\n"


def read_one(path: Path, settings: Settings = SETTINGS) -> IngestResult:
    return read_paths([path], settings=settings)


def only_error(path: Path, settings: Settings = SETTINGS) -> InputError:
    result = read_one(path, settings)
    assert not result.documents, result.documents
    assert len(result.errors) == 1, result.errors
    return result.errors[0]


# --- plain text ----------------------------------------------------------------------------------


def test_txt_is_read_whole_with_stem_as_id(tmp_path: Path) -> None:
    path = tmp_path / "story-one.txt"
    path.write_text("Title: not a header\n" + ARTICLE, encoding="utf-8")
    (doc,) = read_one(path).documents
    assert doc.id == "story-one"
    assert doc.text.startswith("Title: not a header\n")  # no header block is assumed
    assert doc.outlet is None and doc.record is None


def test_seed_examples_are_read_in_sorted_order() -> None:
    result = read_paths([EXAMPLES], settings=SETTINGS)
    assert not result.errors
    assert [d.id for d in result.documents] == sorted(p.stem for p in EXAMPLES.glob("*.txt"))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("café “quoted” — dash".encode(), "café “quoted” — dash"),
        ("café".encode("utf-8-sig"), "café"),
        ("café “q”".encode("utf-16"), "café “q”"),
        ("caf\xe9 \x93quoted\x94".encode("latin-1"), "café “quoted”"),  # cp1252 bytes
        (b"line one\r\nline two\rline three", "line one\nline two\nline three"),
    ],
)
def test_decode_bytes_encodings(data: bytes, expected: str) -> None:
    assert decode_bytes(data, path="x.txt") == expected


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"text\x00with a NUL byte", BinaryInputError),
        (bytes(range(1, 9)) * 20 + b"some words", BinaryInputError),
        (b"bad \x81\x8d\x8f\x90 bytes \xc3", EncodingInputError),  # not UTF-8; undefined in cp1252
    ],
)
def test_decode_bytes_refuses(data: bytes, error: type[InputError]) -> None:
    with pytest.raises(error, match=r"^x\.txt:"):
        decode_bytes(data, path="x.txt")


def test_suffixless_text_file_is_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "README"
    path.write_text(ARTICLE, encoding="utf-8")
    (doc,) = read_one(path).documents
    assert doc.id == "README" and doc.text == ARTICLE


# --- every error class names the file (and line or record) ---------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "error", "message"),
    [
        ("empty.txt", b"", EmptyInputError, r"empty\.txt: the file is empty"),
        ("blank.txt", b"  \n\n\t\n", EmptyInputError, r"blank\.txt: the file is empty"),
        ("nul.txt", b"abc\x00def" * 10, BinaryInputError, r"nul\.txt: the file is binary"),
        ("cp.txt", b"\x81\x8d bad bytes", EncodingInputError, r"cp\.txt: the bytes are not UTF-8"),
        ("image.png", b"\x89PNG", UnsupportedInputError, r"image\.png: unsupported file type '\.png'"),
        ("broken.json", b'{"text": ', RecordInputError, r"broken\.json:1: invalid JSON"),
        ("notext.json", b'{"title": "x"}', RecordInputError, r"notext\.json: the record has no text field"),
        ("number.json", b"42", RecordInputError, r"number\.json: expected a JSON object"),
        (
            "nobody.html",
            b"<html><body><nav>Home</nav></body></html>",
            NoArticleBodyError,
            r"nobody\.html: no article",
        ),
        ("data.xml", b"<TimeML><TEXT>Hello</TEXT></TimeML>", UnsupportedInputError, r"data\.xml: not an RSS"),
        (
            "none.rss",
            b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>',
            EmptyInputError,
            r"none\.rss: the feed has no entries",
        ),
    ],
)
def test_error_classes_name_the_file(
    tmp_path: Path, name: str, content: bytes, error: type[InputError], message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    err = only_error(path)
    assert type(err) is error
    assert err.path == str(path)
    assert str(err).startswith(str(tmp_path))
    assert __import__("re").search(message, str(err)), str(err)
    assert "\n" not in str(err)


def test_fixture_page_without_body_is_no_article_body_error() -> None:
    err = only_error(DATA / "nobody.html")
    assert isinstance(err, NoArticleBodyError)


def test_too_large_file_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.txt"
    path.write_text("word " * 100, encoding="utf-8")

    def boom(self: Path) -> bytes:
        raise AssertionError("file was read")

    monkeypatch.setattr(Path, "read_bytes", boom)
    err = only_error(path, Settings(max_input_bytes=100))
    assert isinstance(err, TooLargeInputError)
    assert "more than the limit of 100" in str(err)


def test_too_large_gzip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.txt.gz"
    path.write_bytes(gzip.compress(b"word " * 1000))
    assert isinstance(only_error(path, Settings(max_input_bytes=500)), TooLargeInputError)


def test_too_long_record_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    lines = [json.dumps({"text": "short text"}), json.dumps({"text": "x" * 50})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = read_one(path, Settings(max_article_chars=20))
    assert [d.record for d in result.documents] == [1]
    (err,) = result.errors
    assert isinstance(err, TooLargeInputError) and err.line == 2
    assert str(err).startswith(f"{path}:2: ")


def test_missing_path_and_empty_glob(tmp_path: Path) -> None:
    result = read_paths([tmp_path / "nope.txt", str(tmp_path / "*.none")], settings=SETTINGS)
    assert [type(e) for e in result.errors] == [InputError, InputError]
    assert "no such file" in str(result.errors[0])
    assert "no file matches" in str(result.errors[1])


# --- strict --------------------------------------------------------------------------------------


def test_bad_file_does_not_stop_others_unless_strict(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "b.txt").write_bytes(b"")
    (tmp_path / "c.txt").write_text(ARTICLE, encoding="utf-8")
    result = read_paths([tmp_path], settings=SETTINGS)
    assert [d.id for d in result.documents] == ["a", "c"]
    assert [type(e) for e in result.errors] == [EmptyInputError]
    with pytest.raises(EmptyInputError, match=r"b\.txt"):
        read_paths([tmp_path], settings=SETTINGS, strict=True)


# --- directories, globs, hidden files, ids -------------------------------------------------------


def test_directories_recursive_sorted_and_hidden_skipped(tmp_path: Path) -> None:
    (tmp_path / "z.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "LICENSE").write_text("MIT License", encoding="utf-8")
    (tmp_path / "DATA-LICENSE").write_text("CC BY 3.0", encoding="utf-8")
    (tmp_path / "README.md").write_text("# data", encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.txt").write_text(ARTICLE, encoding="utf-8")
    result = read_paths([tmp_path], settings=SETTINGS)
    assert [Path(d.source_path).relative_to(tmp_path).as_posix() for d in result.documents] == [
        "sub/a.txt",
        "z.txt",
    ]
    assert not result.errors


def test_globs_are_expanded_sorted(tmp_path: Path) -> None:
    for name in ("b.txt", "a.txt", "c.json"):
        (tmp_path / name).write_text(ARTICLE if name.endswith(".txt") else json.dumps({"text": ARTICLE}))
    result = read_paths([str(tmp_path / "*.txt")], settings=SETTINGS)
    assert [d.id for d in result.documents] == ["a", "b"]


def test_duplicate_ids_are_disambiguated_deterministically(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    (tmp_path / "one" / "story.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "two" / "story.txt").write_text(ARTICLE, encoding="utf-8")
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"id": "story", "text": ARTICLE}) + "\n", encoding="utf-8")
    ids = [d.id for d in read_paths([tmp_path / "one", tmp_path / "two", path], settings=SETTINGS).documents]
    assert ids == ["story", "story~2", "story~3"]


# --- JSON and JSONL ------------------------------------------------------------------------------


def test_json_single_object_and_aliases(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    obj = {
        "body": ARTICLE,
        "source": {"id": "x", "name": "Daily Planet"},
        "published_at": "2019-04-01T14:03:00Z",
        "headline": "Park approved",
        "link": "https://www.dailyplanet.example/park",
        "gold_story": 7,
    }
    path.write_text(json.dumps(obj), encoding="utf-8")
    (doc,) = read_one(path).documents
    assert doc.id == "a" and doc.record is None
    assert doc.outlet == "Daily Planet" and doc.outlet_source == "input"
    assert doc.published == "2019-04-01T14:03:00+00:00"
    assert doc.title == "Park approved" and doc.url == "https://www.dailyplanet.example/park"
    assert ("gold_story", "7") in doc.extra


def test_json_list_reports_bad_records_by_index(tmp_path: Path) -> None:
    path = tmp_path / "many.json"
    path.write_text(json.dumps([{"text": ARTICLE}, {"title": "no text"}, "nope", {"content": ARTICLE}]))
    result = read_one(path)
    assert [(d.id, d.record) for d in result.documents] == [("many#1", 1), ("many#4", 4)]
    assert [(type(e), e.record) for e in result.errors] == [(RecordInputError, "2"), (RecordInputError, "3")]
    assert "'text'" in str(result.errors[0])


def test_jsonl_records_errors_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps({"id": "x1", "outlet": "Planet", "text": ARTICLE, "date": "April 2, 2019"}),
                "",
                '{"id": "x2", "text": ',
                json.dumps({"id": "x3", "text": "   "}),
                json.dumps({"id": "x4", "text": 5}),
                json.dumps({"id": "x5", "url": "https://www.foxnews.com/politics/a", "text": ARTICLE}),
            ]
        ),
        encoding="utf-8",
    )
    result = read_one(path)
    assert [(d.id, d.record) for d in result.documents] == [("x1", 1), ("x5", 6)]
    assert result.documents[0].published == "2019-04-02"
    assert (result.documents[1].outlet, result.documents[1].outlet_source) == ("foxnews.com", "url")
    assert [(type(e), e.line) for e in result.errors] == [
        (RecordInputError, 3),
        (EmptyInputError, 4),
        (RecordInputError, 5),
    ]
    assert str(result.errors[0]).startswith(f"{path}:3: invalid JSON")


def test_jsonl_gz_is_streamed(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl.gz"
    lines = "".join(json.dumps({"text": f"Article number {i}. " + ARTICLE}) + "\n" for i in range(5))
    path.write_bytes(gzip.compress(lines.encode()))
    stream = iter_documents([path], settings=SETTINGS)
    first = next(stream)
    assert isinstance(first, RawDocument) and first.id == "c#1"
    assert len(list(stream)) == 4


# --- HTML ----------------------------------------------------------------------------------------


def test_html_main_text_and_metadata() -> None:
    (doc,) = read_one(DATA / "article.html").documents
    assert "reopened to traffic on Monday morning" in doc.text
    assert "Home" not in doc.text.split("\n")
    assert doc.title == "Harbor bridge reopens after repairs"
    assert doc.published == "2021-06-14"
    assert (doc.outlet, doc.outlet_source) == ("The Coastal Herald", "html")
    assert doc.author == "Dana Whitfield"
    assert doc.url == "https://www.coastalherald.example/news/harbor-bridge-reopens"


def test_html_without_date_never_gets_today() -> None:
    (doc,) = read_one(DATA / "nodate.html").documents
    assert doc.published is None
    assert doc.outlet is None  # no site name, no URL: clean falls back on the file name


def test_html_gz(tmp_path: Path) -> None:
    path = tmp_path / "page.html.gz"
    path.write_bytes(gzip.compress((DATA / "article.html").read_bytes()))
    (doc,) = read_one(path).documents
    assert doc.id == "page" and doc.title == "Harbor bridge reopens after repairs"


# --- WARC ----------------------------------------------------------------------------------------


def _warc(path: Path, records: list[tuple[str, str, bytes]]) -> None:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=path.suffix == ".gz")
        for uri, ctype, body in records:
            headers = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
            writer.write_record(
                writer.create_warc_record(uri, "response", payload=io.BytesIO(body), http_headers=headers)
            )


@pytest.mark.parametrize("name", ["crawl.warc", "crawl.warc.gz"])
def test_warc_html_records_and_non_html_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    page = (DATA / "nodate.html").read_bytes()
    _warc(
        path,
        [
            ("https://www.riverside.example/trees", "text/html; charset=utf-8", page),
            ("https://www.riverside.example/logo.png", "image/png", b"\x89PNG...."),
        ],
    )
    result = read_one(path)
    (doc,) = result.documents
    assert doc.id == "crawl#1" and doc.record == 1
    assert (doc.outlet, doc.outlet_source) == ("riverside.example", "url")
    assert doc.url == "https://www.riverside.example/trees"
    (err,) = result.errors
    assert isinstance(err, UnsupportedInputError) and err.record == "2"
    assert "https://www.riverside.example/logo.png" in str(err) and "image/png" in str(err)


def _page(n: int) -> bytes:
    body = f"Paragraph {n} of a report on the harbour bridge repairs and the closures they need. " * 6
    return f"<html><head><title>Bridge {n}</title></head><body><article><p>{body}</p></article></body></html>".encode()


@pytest.mark.parametrize("name", ["cut.warc", "cut.warc.gz"])
def test_truncated_warc_keeps_complete_records_and_never_a_partial_one(tmp_path: Path, name: str) -> None:
    """Cut the file at many places: only whole records are read, the cut is one named error."""
    full = tmp_path / ("full" + name.removeprefix("cut"))
    _warc(full, [(f"https://news.example/{i}", "text/html", _page(i)) for i in range(3)])
    whole = {d.record: d.text for d in read_one(full).documents}
    assert len(whole) == 3
    data = full.read_bytes()
    from warcio.archiveiterator import ArchiveIterator

    with full.open("rb") as fh:  # where each record ends: a cut there leaves a valid, shorter file
        records = ArchiveIterator(fh)
        ends = [records.get_record_offset() + records.get_record_length() for _ in records]
    cut = tmp_path / name
    for end in range(40, len(data), max(1, len(data) // 60)):
        cut.write_bytes(data[:end])
        result = read_one(cut)
        for doc in result.documents:
            assert doc.text == whole[doc.record], (end, doc.record)  # never a partial record
        # a cut in a record's trailer (CRLF, or gzip's checksum and last block) loses no article byte
        if any(b - 12 <= end <= b + 4 for b in ends):
            continue
        if len(result.documents) < 3:
            assert len(result.errors) == 1, (end, [str(e) for e in result.errors])
            (err,) = result.errors
            assert isinstance(err, TruncatedInputError | UnsupportedInputError | EmptyInputError), (end, err)
            if isinstance(err, TruncatedInputError):
                assert f"{name} (record {len(result.documents) + 1}): truncated: record" in str(err)
                assert "ends early" in str(err)


def test_truncated_gzip_jsonl_keeps_complete_lines_and_gzip_text_is_refused(tmp_path: Path) -> None:
    lines = [json.dumps({"id": f"a{i}", "text": ARTICLE * 20 + f" Number {i}."}) for i in range(50)]
    data = gzip.compress(("\n".join(lines) + "\n").encode())
    path = tmp_path / "feed.jsonl.gz"
    path.write_bytes(data[: len(data) * 2 // 3])
    result = read_one(path)
    assert 0 < len(result.documents) < 50
    assert [d.id for d in result.documents] == [f"a{i}" for i in range(len(result.documents))]
    (err,) = result.errors
    assert isinstance(err, TruncatedInputError) and "gzip data ends early" in str(err)
    text = tmp_path / "article.txt.gz"
    text.write_bytes(gzip.compress(ARTICLE.encode() * 50)[:100])
    assert isinstance(only_error(text), TruncatedInputError)


def test_binary_jsonl_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "dump.jsonl"
    path.write_bytes(bytes(range(256)) * 200)
    assert isinstance(only_error(path), BinaryInputError)


def test_broken_json_message_reads_well(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"text": "unterminated')
    message = str(only_error(path))
    assert "starting at column 10" in message and "at at" not in message


# --- file names and links --------------------------------------------------------------------------


@pytest.mark.parametrize("name", [b"caf\xe9-latin1.txt", b"two\nlines.txt", b"bell\x07\x1b[31m.txt"])
def test_any_file_name_is_read_and_escaped(tmp_path: Path, name: bytes) -> None:
    import os

    path = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), name)))
    path.write_text(ARTICLE)
    (doc,) = read_one(tmp_path).documents
    for text in (doc.id, doc.source_path):
        assert text.isprintable() and "\n" not in text
        text.encode("utf-8")  # storable and printable
    assert doc.id == {b"caf\xe9-latin1.txt": "caf\\xe9-latin1", b"two\nlines.txt": "two\\nlines"}.get(
        name, doc.id
    )
    bad = Path(str(path) + ".bin")
    bad.write_bytes(b"\x00" * 100)
    err = next(e for e in read_one(tmp_path).errors)
    assert str(err).isprintable()


def test_symlink_loops_end_and_each_file_is_read_once(tmp_path: Path) -> None:
    root = tmp_path / "dir"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.txt").write_text(ARTICLE)
    (root / "b.txt").write_text(ARTICLE.replace("park", "library"))
    (root / "sub" / "loop").symlink_to(root, target_is_directory=True)  # dir/sub/loop -> dir
    (root / "sub" / "again").symlink_to(root / "sub", target_is_directory=True)
    (root / "z-alias.txt").symlink_to(root / "b.txt")  # the first name in sorted order is read
    expected = sorted(["b", "a"])
    for pattern in (root, f"{root}/**/*.txt", f"{root}/**", f"{root}/*/*.txt"):
        docs = read_one(pattern).documents  # type: ignore[arg-type]
        names = sorted(d.id for d in docs)
        wanted = ["a"] if str(pattern).endswith("/*/*.txt") and "**" not in str(pattern) else expected
        assert names == wanted, pattern
    both = read_paths([root, root / "b.txt", f"{root}/*.txt"], settings=SETTINGS)
    assert sorted(d.id for d in both.documents) == expected and not both.errors


# --- feeds ---------------------------------------------------------------------------------------


def test_rss_entries_and_entry_without_text() -> None:
    result = read_one(DATA / "tribune.rss")
    (doc,) = result.documents
    assert doc.id == "tribune#1" and doc.record == 1
    assert doc.text == (
        "The school board voted on Monday to build a new library next to the high school.\n"
        "Construction is expected to start in the autumn."
    )
    assert doc.published == "2022-03-08T14:05:00+00:00"
    assert (doc.outlet, doc.outlet_source) == ("Valley Tribune", "input")
    (err,) = result.errors
    assert isinstance(err, EmptyInputError) and err.record == "2"


def test_atom_content_is_stripped_of_html() -> None:
    (doc,) = read_one(DATA / "ledger.atom").documents
    assert (
        doc.text
        == "Heavy snow closed the mountain pass on Thursday.\nCrews expect to reopen it by the weekend."
    )
    assert doc.published == "2023-01-05T08:15:00+00:00"
    assert doc.url == "https://ledger.example/snow-pass"


# --- helpers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019-04-01", "2019-04-01"),
        ("2019-04-01T14:03:00Z", "2019-04-01T14:03:00+00:00"),
        ("2019-04-01 14:03", "2019-04-01T14:03:00"),
        ("Mon, 01 Apr 2019 14:03:00 GMT", "2019-04-01T14:03:00+00:00"),
        ("April 1, 2019", "2019-04-01"),
        ("1 April 2019", "2019-04-01"),
        (1554127380, "2019-04-01T14:03:00+00:00"),
        ("April 2019", None),  # no day: never completed from today
        ("2 hours ago", None),
        ("yesterday", None),
        ("not a date", None),
        ("", None),
        (None, None),
        (True, None),
    ],
)
def test_normalize_published(value: object, expected: str | None) -> None:
    assert normalize_published(value) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.foxnews.com/politics/x", "foxnews.com"),
        ("http://edition.cnn.com/2019/04/01/a.html", "edition.cnn.com"),
        ("https://m.bbc.co.uk/news", "bbc.co.uk"),
        ("www.rt.com/news", "rt.com"),
        ("not a url", None),
        (None, None),
    ],
)
def test_outlet_from_url(url: str | None, expected: str | None) -> None:
    assert outlet_from_url(url) == expected


def test_strip_html_keeps_blocks_as_lines() -> None:
    assert (
        strip_html("<p>One &amp; two</p><script>x()</script><p>Three<br>four</p>") == "One & two\nThree\nfour"
    )


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=200))
def test_decode_roundtrips_printable_utf8(text: str) -> None:
    assert decode_bytes(text.encode("utf-8"), path="p.txt") == text.replace("\r\n", "\n").replace("\r", "\n")


# --- extraction evaluation (HTML ingestion quality) -----------------------------------------------


@pytest.mark.parametrize(
    ("predicted", "truth", "expected"),
    [
        ("a b c", "a b c", (1.0, 1.0)),
        ("a b c d", "a b", (0.5, 1.0)),
        ("a a", "a b b b", (0.5, 0.25)),
        ("", "a b", (0.0, 0.0)),
        ("", "", (1.0, 1.0)),
    ],
)
def test_page_scores_bag_of_tokens(predicted: str, truth: str, expected: tuple[float, float]) -> None:
    from parallax.evaluation.extraction import page_scores

    assert page_scores(predicted, truth) == pytest.approx(expected)


def test_aggregate_is_f1_of_mean_precision_and_recall() -> None:
    from parallax.evaluation.extraction import aggregate

    scores = aggregate([(1.0, 0.5), (0.5, 0.5)])
    assert (scores.precision, scores.recall) == (0.75, 0.5)
    assert scores.f1 == pytest.approx(0.6)


@pytest.mark.slow
def test_extraction_meets_floors_on_subset() -> None:
    from conftest import shared_path
    from parallax.evaluation.extraction import evaluate
    from parallax.evaluation.gate import check_floors, load_floors

    directory = shared_path("extraction")
    result = evaluate(directory, limit=40)
    assert result["documents"] == 40
    measured = {k: float(v) for k, v in result.items() if k in ("precision", "recall", "f1")}  # type: ignore[arg-type]
    assert check_floors(measured, load_floors("extraction")) == []
    peer = result["peers"]["trafilatura-default"]  # type: ignore[index]
    assert measured["f1"] > peer["f1"]


def test_extraction_cli_table(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from parallax.cli import cli

    (tmp_path / "html").mkdir()
    page = (DATA / "article.html").read_bytes()
    (tmp_path / "html" / "p1.html.gz").write_bytes(gzip.compress(page))
    truth = {
        "p1": {
            "url": "https://www.coastalherald.example/news/harbor-bridge-reopens",
            "articleBody": (
                "The harbor bridge reopened to traffic on Monday morning after eight months of repairs that cost the "
                "city more than twelve million dollars, officials said."
            ),
        }
    }
    (tmp_path / "ground-truth.json").write_text(json.dumps(truth), encoding="utf-8")
    result = CliRunner().invoke(cli, ["eval", "extraction", str(tmp_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["documents"] == 1 and data["recall"] == 1.0 and 0 < data["precision"] < 1
    assert set(data["peers"]) == {"trafilatura-default"}
    table = CliRunner().invoke(cli, ["eval", "extraction", str(tmp_path), "--format", "table"])
    assert table.exit_code == 0 and "trafilatura-default" in table.output


def test_a_page_of_very_many_paragraphs_takes_the_linear_path_and_keeps_them_all(tmp_path: Path) -> None:
    from parallax.ingest import LONG_PAGE_PARAGRAPHS

    n = LONG_PAGE_PARAGRAPHS + 1
    paras = "".join(f"<p>Paragraph {i}: the council met again and postponed the vote.</p>" for i in range(n))
    page = tmp_path / "long.html"
    page.write_text(
        "<html><head><title>Council diary</title><script>var x = 1;</script></head><body>"
        f"<nav><a href='/'>Home</a></nav><article><h1>Council diary</h1>{paras}</article>"
        "<footer>Copyright the paper</footer></body></html>"
    )
    (doc,) = read_one(page, Settings(max_article_chars=10_000_000)).documents
    lines = doc.text.split("\n")
    assert lines[0] == "Council diary" and doc.title == "Council diary"
    assert len(lines) == n + 1 and lines[-1].startswith(f"Paragraph {n - 1}:")
    assert "Home" not in doc.text and "Copyright" not in doc.text and "var x" not in doc.text
