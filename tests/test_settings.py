from __future__ import annotations

from pathlib import Path

import pytest

from parallax.errors import ConfigError
from parallax.settings import Settings, load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for key in ("PARALLAX_CONFIG", "PARALLAX_EMBEDDER", "PARALLAX_SUMMARY_SENTENCES", "PARALLAX_DB"):
        monkeypatch.delenv(key, raising=False)
    assert load_settings() == Settings()


def test_precedence_file_env_flags(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "parallax.toml").write_text(
        '[parallax]\nembedder = "hashing"\nsummary_sentences = 7\nalign_threshold = 0.5\n'
    )
    monkeypatch.setenv("PARALLAX_SUMMARY_SENTENCES", "4")
    s = load_settings(align_threshold=0.7)
    assert s.embedder == "hashing"  # file
    assert s.summary_sentences == 4  # env beats file
    assert s.align_threshold == 0.7  # flag beats all


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("nonsense = 1\n", "unknown setting"),
        ("summary_sentences = 'many'\n", "expected an integer"),
        ("[[[", "cannot read settings"),
    ],
)
def test_bad_config_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "p.toml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_settings(config_file=path)


def test_replace_rejects_unknown_and_ignores_none() -> None:
    s = Settings()
    assert s.replace(embedder=None) == s
    with pytest.raises(ConfigError):
        s.replace(colour="blue")


def test_outlet_groups_from_file_and_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PARALLAX_OUTLET_GROUPS", raising=False)
    assert Settings().outlet_groups == {}  # none built in
    path = tmp_path / "p.toml"
    path.write_text('[parallax.outlet_groups]\nleft = ["HuffPost"]\nright = ["Fox News", "Breitbart"]\n')
    assert load_settings(config_file=path).outlet_groups == {
        "left": ("HuffPost",),
        "right": ("Fox News", "Breitbart"),
    }
    monkeypatch.setenv("PARALLAX_OUTLET_GROUPS", '{"a": ["X"]}')
    assert load_settings(config_file=path).outlet_groups == {"a": ("X",)}
    hash(load_settings())  # settings stay hashable


@pytest.mark.parametrize(
    ("raw", "message"), [('{"a": "X"}', "table of group name"), ("{nope", "expected JSON")]
)
def test_bad_outlet_groups(monkeypatch: pytest.MonkeyPatch, raw: str, message: str) -> None:
    monkeypatch.setenv("PARALLAX_OUTLET_GROUPS", raw)
    with pytest.raises(ConfigError, match=message):
        load_settings()
