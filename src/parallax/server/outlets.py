"""Outlet profiles in the web application: ``GET /api/outlets``, ``GET /api/outlets/{name}``,
and the pages ``/outlets`` (a sortable comparison table with small charts) and ``/outlets/{name}``.

Profiles are summed from the store's per-story rows (:mod:`parallax.profiles`), so a request costs
one pass over those rows; the result is kept until the store changes.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import FastAPI, Query
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from parallax.errors import NotFoundError
from parallax.profiles import FIDELITIES, OutletProfile, build_profiles

if TYPE_CHECKING:
    from parallax.settings import Settings
    from parallax.store import Store

# Module-level aliases: FastAPI resolves (postponed) annotations in the module's namespace.
Name = Annotated[str, PathParam(max_length=200, description="an outlet (or outlet group) name")]
Day = Annotated[dt.date | None, Query(description="YYYY-MM-DD")]
SortKey = Literal[
    "name", "articles", "stories", "blindspots", "unique", "omissions", "loaded", "altered", "conflicts"
]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BlindspotOut(_Out):
    story: str
    title: str
    covered_by: list[str]


class VerbOut(_Out):
    verb: str
    group: str
    count: int


class VerbsOut(_Out):
    neutral: int
    loaded: int
    top: list[VerbOut]


class VoiceOut(_Out):
    speaker: str
    direct: int
    indirect: int


class LabelOut(_Out):
    entity: str
    label: str
    count: int


class EvidenceOut(_Out):
    kind: str
    story: str
    text: str
    article: str | None = None
    ref: str | None = None
    start: int | None = None
    end: int | None = None


class OutletProfileOut(_Out):
    """One outlet (or a user-defined group of outlets) across the stored stories."""

    name: str
    articles: int
    stories: int
    stories_analysed: int = Field(description="stories whose report has been computed (the rates use these)")
    blindspots: list[BlindspotOut]
    unique_facts_rate: float | None
    omission_rate: float | None
    loaded_per_1000_words: float | None
    attribution_verbs: VerbsOut
    quote_fidelity: dict[str, int]
    voices: list[VoiceOut]
    labels: list[LabelOut]
    conflicts: int
    groups: list[str] = []
    members: list[str] = []
    counts: dict[str, int]
    evidence: dict[str, list[EvidenceOut]] = {}


class OutletList(_Out):
    outlets: list[OutletProfileOut]
    groups: list[OutletProfileOut]
    stories: int
    stories_analysed: int


SORT_KEYS: dict[str, Callable[[OutletProfile], Any]] = {
    "name": lambda p: p.name.casefold(),
    "articles": lambda p: -p.articles,
    "stories": lambda p: -p.stories,
    "blindspots": lambda p: -len(p.blindspots),
    "unique": lambda p: -(p.unique_facts_rate or 0.0),
    "omissions": lambda p: -(p.omission_rate or 0.0),
    "loaded": lambda p: -(p.loaded_per_1000_words or 0.0),
    "altered": lambda p: -_altered_share(p),
    "conflicts": lambda p: -p.conflicts,
}


def _altered_share(profile: OutletProfile) -> float:
    total = sum(profile.quote_fidelity.values())
    changed = sum(profile.quote_fidelity.get(k, 0) for k in ("trimmed", "altered"))
    return changed / total if total else 0.0


class ProfileCache:
    """Profiles of one store, recomputed only when articles or profile rows changed."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self._lock = threading.Lock()
        self._key: tuple[object, ...] | None = None
        self._value: list[OutletProfile] = []

    def _stamp(self) -> tuple[object, ...]:
        rows = self.store.execute("SELECT count(*), max(rowid) FROM outlet_stats")
        return (self.store.last_seq(), *rows[0])

    def all(self, *, since: dt.date | None = None, until: dt.date | None = None) -> list[OutletProfile]:
        if since or until:  # filtered views are not cached
            return build_profiles(self.store, since=since, until=until, groups=self.settings.outlet_groups)
        with self._lock:
            stamp = self._stamp()
            if stamp != self._key:
                self._value = build_profiles(self.store, groups=self.settings.outlet_groups)
                self._key = stamp
            return self._value

    def one(self, name: str) -> OutletProfile:
        found = build_profiles(self.store, outlet=name, groups=self.settings.outlet_groups)
        if not found:
            group = next((p for p in self.all() if p.members and p.name.casefold() == name.casefold()), None)
            if group is not None:
                return group
            raise NotFoundError(f"no outlet named {name!r}; GET /api/outlets lists them")
        return found[0]

    def analysed(self) -> tuple[int, int]:
        total = int(str(self.store.execute("SELECT count(*) FROM stories")[0][0]))
        return total - len(self.store.stories_without_stats()), total


def _out(profile: OutletProfile, *, evidence: bool = False) -> OutletProfileOut:
    return OutletProfileOut.model_validate(profile.to_json(evidence=evidence))


def register(
    app: FastAPI,
    *,
    store: Store,
    settings: Settings,
    render: Callable[..., str],
    error_responses: dict[int | str, dict[str, Any]],
) -> ProfileCache:
    """Add the outlet routes to ``app``; ``render(template, **context)`` renders a server page."""
    cache = ProfileCache(store, settings)

    @app.get(
        "/api/outlets",
        response_model=OutletList,
        responses=error_responses,
        tags=["api"],
        summary="Outlet profiles",
    )
    def list_outlets(
        since: Day = None,
        until: Day = None,
    ) -> OutletList:
        """Every outlet's profile (and each user-defined group's), without evidence lists."""
        profiles = cache.all(since=since, until=until)
        done, total = cache.analysed()
        return OutletList(
            outlets=[_out(p) for p in profiles if not p.members and p.name not in settings.outlet_groups],
            groups=[_out(p) for p in profiles if p.members or p.name in settings.outlet_groups],
            stories=total,
            stories_analysed=done,
        )

    @app.get(
        "/api/outlets/{name}",
        response_model=OutletProfileOut,
        responses=error_responses,
        tags=["api"],
        summary="One outlet's profile with its evidence",
    )
    def get_outlet(name: Name) -> OutletProfileOut:
        """The profile of one outlet, each figure with the stories and spans it came from."""
        return _out(cache.one(name), evidence=True)

    @app.get("/outlets", response_class=HTMLResponse, include_in_schema=False)
    def outlets_page(
        sort: SortKey = "articles",
    ) -> HTMLResponse:
        profiles = cache.all()
        outlets = [p for p in profiles if p.name not in settings.outlet_groups]
        groups = [p for p in profiles if p.name in settings.outlet_groups]
        key = SORT_KEYS[sort]
        done, total = cache.analysed()
        loaded_max = max((p.loaded_per_1000_words or 0.0 for p in outlets), default=0.0) or 1.0
        blind_max = max((len(p.blindspots) for p in outlets), default=0) or 1
        return HTMLResponse(
            render(
                "outlets.html",
                title="Outlets",
                outlets=sorted(outlets, key=lambda p: (key(p), p.name.casefold())),
                groups=groups,
                sort=sort,
                sort_keys=list(SORT_KEYS),
                analysed=done,
                total=total,
                loaded_max=loaded_max,
                blind_max=blind_max,
                fidelities=FIDELITIES,
            )
        )

    @app.get("/outlets/{name}", response_class=HTMLResponse, include_in_schema=False)
    def outlet_page(name: Name) -> HTMLResponse:
        profile = cache.one(name)
        done, total = cache.analysed()
        return HTMLResponse(
            render(
                "outlet.html",
                title=profile.name,
                profile=profile,
                analysed=done,
                total=total,
                fidelities=FIDELITIES,
            )
        )

    return cache
