"""One name per outlet: raw outlet strings, URL hosts and file names to one canonical name.

Inputs name their outlet in many ways: BASIL writes ``fox``/``FOX``, PolNeAR ``wash-post``, a feed
``Fox News (Opinion)``, an HTML page ``FoxNews.com``, and a bare URL only has its host
``latino.foxnews.com``. :class:`OutletTable` maps all of them to one name, ``Fox News``, from a
table shipped with Parallax (``data/outlets.tsv``: name, aliases, domains of a few hundred
English-language outlets, written for the project from public facts) that users extend or override
with their own file (the ``outlets_file`` setting, same layout, TSV or JSON).

:meth:`OutletTable.resolve` settles an article's outlet, in order:

1. a name the user gave for the input files (``--outlet``), looked up in the table;
2. the raw outlet the input carries (record field, HTML site name, credit line, URL host), looked
   up by its folded key ("FOX" = "fox"), by domain ("foxnews.com"), or without a parenthetical
   qualifier ("Fox News (Opinion)");
3. the host of the article's URL, matched against the table's domains and their subdomains;
4. a raw name the table does not know, tidied (an all-lower or all-upper name is title-cased);
   a URL host stays as it is, since a domain is a fine name for an unlisted site;
5. otherwise (only a file name, or an opaque id) the outlet is unknown: ``Unknown outlet`` plus a
   short tag hashed from the raw form, so two unknown sources stay apart and no file name is shown.

The raw form is kept beside the canonical name (``Article.outlet_raw``) for tools.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from parallax.errors import ConfigError

log = logging.getLogger(__name__)

#: The name shown for an article whose outlet cannot be told; a short tag follows it.
UNKNOWN_OUTLET = "Unknown outlet"

_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$")
_QUALIFIER = re.compile(r"\s*(?:\([^()]*\)|\[[^\[\]]*\])\s*$")
#: An opaque id rather than a name: no space, and digits mixed with ``_`` or hex runs
#: ("001_00d09475fcb2e337", "a3b39ae37085ce36", "doc-1234").
_OPAQUE = re.compile(r"^(?=[\w-]*\d)[\w-]{4,}$")
_HOST_PREFIXES = ("www.", "www1.", "www2.", "m.", "amp.", "mobile.")


@dataclass(frozen=True, slots=True)
class Outlet:
    """One row of an outlet table: the canonical name and the other forms that point at it."""

    name: str
    aliases: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OutletName:
    """An article's settled outlet: the name to show, the raw form it came from, whether known."""

    name: str
    raw: str | None
    known: bool


def outlet_key(text: str) -> str:
    """The folded form two spellings of one name share: case, accents, punctuation, spacing,
    "&" vs "and" and a leading "The" do not count ("The Wall Street Journal" = "wall-street journal")."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").casefold()
    folded = folded.replace("&", " and ")
    folded = re.sub(r"^\s*the\s+", "", folded)
    return re.sub(r"[^a-z0-9]+", "", folded)


def outlet_id(name: str) -> str:
    """A stable slug of a canonical name for tools and URLs: "The New York Times" -> "the-new-york-times"."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-") or "outlet"


def host_of(url_or_host: str | None) -> str | None:
    """The lower-case host of a URL (or a bare host), without ``www.``-like prefixes."""
    if not url_or_host:
        return None
    text = url_or_host.strip()
    try:
        host = urlsplit(text if "//" in text else f"//{text}").hostname
    except ValueError:
        return None
    if not host or "." not in host:
        return None
    host = host.lower().rstrip(".")
    for prefix in _HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") > 1:
            return host[len(prefix) :]
    return host


def unknown_outlet(raw: str | None) -> OutletName:
    """``Unknown outlet`` with a four-character tag hashed from ``raw``: stable across runs, and
    different for different sources, so two unknown outlets are never merged on screen."""
    tag = hashlib.sha1((raw or "").encode("utf-8")).hexdigest()[:4].upper()
    return OutletName(name=f"{UNKNOWN_OUTLET} {tag}", raw=raw, known=False)


def is_unknown(name: str) -> bool:
    """Whether ``name`` is a placeholder made by :func:`unknown_outlet`."""
    return name.startswith(UNKNOWN_OUTLET + " ")


def tidy_name(raw: str) -> str:
    """A raw outlet name the table does not know, made presentable: spaces folded, and an
    all-lower or all-upper name longer than four letters title-cased ("DAILY PLANET" ->
    "Daily Planet"; a short code such as "KQED" stays)."""
    name = " ".join(raw.split())
    letters = [c for c in name if c.isalpha()]
    if len(letters) > 4 and (name.islower() or name.isupper()) and not _DOMAIN.match(name.lower()):
        name = name.title()
    return name


class OutletTable:
    """Canonical outlets by folded name and by domain; later rows override earlier ones.

    A small verb API: :meth:`lookup` a raw name, :meth:`by_url` a URL, :meth:`resolve` an
    article's outlet, :meth:`extended` with a user's rows.
    """

    def __init__(self, outlets: Iterable[Outlet] = ()) -> None:
        self._outlets: list[Outlet] = []
        self._by_key: dict[str, Outlet] = {}
        self._by_domain: dict[str, Outlet] = {}
        for outlet in outlets:
            self._add(outlet)

    def _add(self, outlet: Outlet) -> None:
        self._outlets.append(outlet)
        for form in (outlet.name, *outlet.aliases, *outlet.domains):
            key = outlet_key(form)
            if key:
                self._by_key[key] = outlet
        for domain in outlet.domains:
            host = host_of(domain)
            if host:
                self._by_domain[host] = outlet

    def __len__(self) -> int:
        return len({o.name for o in self._outlets})

    @property
    def outlets(self) -> tuple[Outlet, ...]:
        return tuple(self._outlets)

    def extended(self, outlets: Iterable[Outlet]) -> OutletTable:
        """A new table with ``outlets`` added after this one's rows (so they win any clash)."""
        return OutletTable([*self._outlets, *outlets])

    def lookup(self, raw: str | None) -> Outlet | None:
        """The outlet a raw name denotes: by folded key, by domain, then without a trailing
        parenthetical qualifier ("Fox News (Opinion)")."""
        if not raw or not raw.strip():
            return None
        text = raw.strip()
        found = self._by_key.get(outlet_key(text))
        if found is None and _DOMAIN.match(text.lower()):
            found = self.by_url(text)
        if found is None and _QUALIFIER.search(text):
            found = self.lookup(_QUALIFIER.sub("", text))
        return found

    def by_url(self, url: str | None) -> Outlet | None:
        """The outlet whose domain is the URL's host or a parent of it ("thecaucus.blogs.nytimes.com")."""
        host = host_of(url)
        while host and "." in host:
            if host in self._by_domain:
                return self._by_domain[host]
            host = host.split(".", 1)[1]
        return None

    def resolve(
        self,
        raw: str | None,
        *,
        source: str | None = None,
        url: str | None = None,
        override: str | None = None,
    ) -> OutletName:
        """The outlet of one article (cascade in the module docstring). ``source`` says where
        ``raw`` came from: ``input``/``html``/``credit``/``url``/``filename``."""
        # 1. the user's name for these files
        if override and override.strip():
            found = self.lookup(override)
            return OutletName(name=found.name if found else tidy_name(override), raw=raw, known=True)
        named = bool(raw and raw.strip()) and source != "filename"
        # 2. the raw outlet the input carries
        if named:
            found = self.lookup(raw)
            if found is not None:
                return OutletName(name=found.name, raw=raw, known=True)
        # 3. the URL's host
        found = self.by_url(url)
        if found is not None:
            return OutletName(name=found.name, raw=raw, known=True)
        # 4. a name the table does not know
        if named and raw is not None:
            if source == "url" or _DOMAIN.match(raw.strip().lower()):
                return OutletName(name=host_of(raw) or raw.strip(), raw=raw, known=False)
            if not _OPAQUE.match(raw.strip()) or any(c.isspace() for c in raw.strip()):
                return OutletName(name=tidy_name(raw), raw=raw, known=False)
        host = host_of(url)
        if host:
            return OutletName(name=host, raw=raw, known=False)
        # 5. unknown ("nyt.txt" is a file named after its outlet: that one is known)
        if source == "filename" and raw:
            found = self._by_key.get(outlet_key(raw))
            if found is not None:
                return OutletName(name=found.name, raw=raw, known=True)
        return unknown_outlet(raw)

    def canonical(self, name: str) -> str:
        """The canonical form of an outlet name already shown somewhere (a filter, an old store):
        a known alias becomes its outlet's name; anything else is returned as it is."""
        if is_unknown(name):
            return name
        found = self.lookup(name)
        return found.name if found else name


def _split(cell: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in cell.split("|") if p.strip())


def parse_table(text: str, *, path: str) -> list[Outlet]:
    """Rows of an outlet file: TSV (``name<TAB>aliases<TAB>domains``, ``|`` between forms, ``#``
    comments, an optional ``name`` header) or JSON (a list of ``{name, aliases, domains}``).
    Raises :class:`ConfigError` naming the file and line of a malformed row."""
    stripped = text.lstrip()
    if stripped.startswith("[") or stripped.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON: {exc}") from exc
        rows = data.get("outlets", []) if isinstance(data, dict) else data
        out = []
        for k, row in enumerate(rows if isinstance(rows, list) else [], start=1):
            if not isinstance(row, dict) or not isinstance(row.get("name"), str) or not row["name"].strip():
                raise ConfigError(f"{path}: outlet {k}: expected an object with a non-empty 'name'")
            aliases, domains = row.get("aliases", []), row.get("domains", [])
            if not all(isinstance(x, str) for x in [*aliases, *domains]):
                raise ConfigError(f"{path}: outlet {k} ({row['name']}): aliases and domains must be strings")
            out.append(Outlet(name=row["name"].strip(), aliases=tuple(aliases), domains=tuple(domains)))
        return out
    out = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = line.split("\t")
        if len(cells) > 3 or not cells[0].strip():
            raise ConfigError(
                f"{path}: line {line_no}: expected 'name<TAB>aliases<TAB>domains' (aliases and domains "
                "separated by '|')"
            )
        if [c.strip().lower() for c in cells[:2]] == ["name", "aliases"]:  # the header
            continue
        cells += [""] * (3 - len(cells))
        out.append(Outlet(name=cells[0].strip(), aliases=_split(cells[1]), domains=_split(cells[2])))
    return out


@functools.cache
def default_table() -> OutletTable:
    """The table shipped with Parallax (``parallax/data/outlets.tsv``)."""
    text = resources.files("parallax").joinpath("data/outlets.tsv").read_text(encoding="utf-8")
    return OutletTable(parse_table(text, path="parallax/data/outlets.tsv"))


@functools.cache
def table_for(outlets_file: str | None = None) -> OutletTable:
    """The shipped table, extended by the user's ``outlets_file`` (whose rows win) when given."""
    if not outlets_file:
        return default_table()
    path = Path(outlets_file)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the outlets file: {exc.strerror or exc}") from exc
    rows = parse_table(text, path=str(path))
    log.info("%s: %d outlet row(s) added to the table", path, len(rows))
    return default_table().extended(rows)
