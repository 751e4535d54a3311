"""Shared fixtures. Tests that read ``../shared`` skip with a clear message when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SHARED = Path(os.environ.get("PARALLAX_SHARED", ROOT.parent / "shared")).resolve()
SHARED_DATA = SHARED / "data"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="Rewrite golden files instead of comparing.",
    )


def shared_path(*parts: str) -> Path:
    """A path under ``../shared/data``, skipping the test when it does not exist."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path} (set PARALLAX_SHARED)")
    return path


@pytest.fixture(scope="session")
def seed_paths() -> list[Path]:
    return sorted(EXAMPLES.glob("*.txt"))


@pytest.fixture(scope="session")
def seed_report():  # type: ignore[no-untyped-def]
    """The full StoryReport of the bundled example story, with the real models (computed once)."""
    from parallax.pipeline import Parallax

    result = Parallax().compare_paths([EXAMPLES])
    assert not result.errors, result.errors
    return result.report


@pytest.fixture(scope="session")
def nlp():  # type: ignore[no-untyped-def]
    """The default spaCy pipeline, loaded once."""
    from parallax.nlp import load_pipeline

    return load_pipeline()


@pytest.fixture()
def make_analyzed(nlp):  # type: ignore[no-untyped-def]
    """Build AnalyzedArticle records by hand from (id, text) pairs."""
    from parallax.nlp import analyze
    from parallax.records import Article

    def _make(*items: tuple[str, str], published: str | None = None):  # type: ignore[no-untyped-def]
        arts = [
            Article(id=i, source_path=f"{i}.txt", text=t, outlet=f"Outlet {i}", published=published)
            for i, t in items
        ]
        return analyze(arts, nlp=nlp)

    return _make
