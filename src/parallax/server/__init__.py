"""The Parallax web UI and HTTP API (``parallax serve``).

:func:`create_app` builds the FastAPI application over a :class:`~parallax.store.Store`; the pages and
the JSON API render the same :class:`~parallax.report.StoryReport`. FastAPI and uvicorn are the
``serve`` extra, so this package is imported only by ``parallax serve`` and by code that asks for it.
"""

from __future__ import annotations

from parallax.server.app import ERROR_CODES, create_app

__all__ = ["ERROR_CODES", "create_app"]
