"""How cost grows with input size: long articles through ``compare`` and ``ingest``, long HTML pages.

Each case runs in a fresh ``parallax`` process, timed from the outside, with its peak resident
memory (``ru_maxrss`` of that child, from ``os.wait4``):

* ``compare`` of one long article (12k, 50k, 200k characters) plus a short one;
* ``ingest`` of the same long article into a new store;
* ``ingest`` of one HTML page of 10k, 50k and 100k short paragraphs, with the article limit
  lifted (the whole page is cleaned, hashed and stored) and with the default limit (pages over
  1M characters of text are extracted, then refused: exit 3).

The long article is made of the bundled example articles' paragraphs, each numbered so that no
two are identical (dedup and alignment see distinct text), repeated to the size. The growth
ratios (200k vs 12k characters: 16.7x the input; 100k vs 10k paragraphs: 10x) say whether cost
is linear: linear means the time ratio stays near the size ratio (the issue's bar: at most about
20x for 200k vs 12k). Process start-up and model loading are part of every figure, so small
cases overstate the per-character cost; ``startup_s`` (``parallax --version``) is printed too.

Prints one JSON object. Usage::

    python benchmarks/long_inputs.py --embedder hashing          # quick
    python benchmarks/long_inputs.py                             # the default embedder
    python benchmarks/long_inputs.py --only html --out FILE
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
ARTICLE_CHARS = (12_000, 50_000, 200_000)
HTML_PARAGRAPHS = (10_000, 50_000, 100_000)


def long_article(chars: int) -> str:
    """About ``chars`` characters of news prose: the example paragraphs, numbered, repeated."""
    paragraphs = [
        p.strip()
        for path in sorted(EXAMPLES.glob("*.txt"))
        for p in path.read_text(encoding="utf-8").split("\n")
        if len(p.split()) >= 8
    ]
    out: list[str] = []
    size, n = 0, 0
    while size < chars:
        para = f"In update {n // len(paragraphs) + 1}, {paragraphs[n % len(paragraphs)]}"
        out.append(para)
        size += len(para) + 2
        n += 1
    return "\n\n".join(out)[:chars]


def html_page(paragraphs: int) -> str:
    """One page of ``paragraphs`` short paragraphs inside an article element."""
    body = "\n".join(
        f"<p>Paragraph {i}: the council met again on day {i % 365} and the vote was postponed.</p>"
        for i in range(paragraphs)
    )
    return (
        "<!doctype html><html><head><title>A very long page</title></head><body>"
        f"<article><h1>A very long page</h1>\n{body}\n</article></body></html>"
    )


def run(args: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> dict[str, float | int]:
    """Run ``parallax ARGS`` in a fresh process; its wall time, peak memory and exit code."""
    exe = Path(sys.executable).with_name("parallax")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [str(exe), *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        assert proc.stderr is not None
        print(
            f"parallax {' '.join(args)} exited {code}: {proc.stderr.read().decode()[-500:]}", file=sys.stderr
        )
    return {"seconds": round(seconds, 2), "peak_mb": round(usage.ru_maxrss / 1024, 1), "exit": code}


def ratio(big: dict[str, float | int], small: dict[str, float | int]) -> dict[str, float]:
    return {
        "time": round(float(big["seconds"]) / max(float(small["seconds"]), 1e-9), 2),
        "memory": round(float(big["peak_mb"]) / max(float(small["peak_mb"]), 1e-9), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--embedder", default=None, help="e.g. hashing for a quick run (default: Parallax's)")
    parser.add_argument("--only", choices=["article", "html"], default=None)
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args()
    embed = ["--embedder", args.embedder] if args.embedder else []
    result: dict[str, object] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_1m": os.getloadavg()[0],
        },
        "embedder": args.embedder or "default",
    }
    with tempfile.TemporaryDirectory(prefix="parallax-long-") as tmp:
        work = Path(tmp)
        result["startup_s"] = run(["--version"], cwd=work)["seconds"]
        if args.only in (None, "article"):
            short = work / "short.txt"
            short.write_text(long_article(2_000), encoding="utf-8")
            compare: dict[str, dict[str, float | int]] = {}
            ingest: dict[str, dict[str, float | int]] = {}
            for chars in ARTICLE_CHARS:
                path = work / f"long-{chars}.txt"
                path.write_text(long_article(chars), encoding="utf-8")
                compare[str(chars)] = run(
                    ["compare", str(path), str(short), "-o", str(work / "r.json"), *embed], cwd=work
                )
                ingest[str(chars)] = run(["ingest", str(path), "--db", str(work / f"a-{chars}.db")], cwd=work)
                print(
                    f"article {chars}: compare {compare[str(chars)]}, ingest {ingest[str(chars)]}",
                    file=sys.stderr,
                )
            result["compare_article_chars"] = compare
            result["ingest_article_chars"] = ingest
            big, small = str(ARTICLE_CHARS[-1]), str(ARTICLE_CHARS[0])
            result["growth_200k_vs_12k"] = {
                "input": round(ARTICLE_CHARS[-1] / ARTICLE_CHARS[0], 2),
                "compare": ratio(compare[big], compare[small]),
                "ingest": ratio(ingest[big], ingest[small]),
            }
        if args.only in (None, "html"):
            pages: dict[str, dict[str, float | int]] = {}
            refused: dict[str, dict[str, float | int]] = {}
            for count in HTML_PARAGRAPHS:
                page = work / f"page-{count}.html"
                page.write_text(html_page(count), encoding="utf-8")
                # with the default limit of 1M characters the longer pages are extracted, then
                # refused as too large (exit 3): the measurement
                refused[str(count)] = run(
                    ["ingest", str(page), "--db", str(work / f"r-{count}.db")], cwd=work
                )
                # the whole page is one article of up to 7.7M characters: lift the article limit so
                # that cleaning, hashing and storing are measured too, not only the refusal
                pages[str(count)] = run(
                    ["ingest", str(page), "--db", str(work / f"h-{count}.db")],
                    cwd=work,
                    env={"PARALLAX_MAX_ARTICLE_CHARS": "20000000"},
                )
                print(f"html {count} paragraphs: {pages[str(count)]}", file=sys.stderr)
            result["ingest_html_paragraphs"] = pages
            result["ingest_html_paragraphs_default_limit"] = refused
            result["growth_100k_vs_10k_paragraphs"] = {
                "input": round(HTML_PARAGRAPHS[-1] / HTML_PARAGRAPHS[0], 2),
                "ingest": ratio(pages[str(HTML_PARAGRAPHS[-1])], pages[str(HTML_PARAGRAPHS[0])]),
                "ingest_default_limit": ratio(
                    refused[str(HTML_PARAGRAPHS[-1])], refused[str(HTML_PARAGRAPHS[0])]
                ),
            }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
