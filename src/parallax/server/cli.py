"""``parallax serve``: run the web UI and JSON API over a store with uvicorn.

Binds to loopback unless told otherwise: serving the store to the network needs ``--public``,
because reads are open. Writes are enabled only when ``PARALLAX_API_TOKEN`` is set (the token is
never taken from the command line, where other users could see it in the process list).
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import click

from parallax.cli import db_option


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only the local machine (``localhost``, ``127.x.x.x``, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@click.command("serve")
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="TCP port.")
@click.option(
    "--public",
    is_flag=True,
    help="Allow binding to a non-loopback address (everyone who can reach it can read the store).",
)
@click.option(
    "--max-body-bytes",
    type=click.IntRange(1_000),
    default=5_000_000,
    show_default=True,
    help="Largest request body accepted (413 above).",
)
@click.option("--warm/--no-warm", default=True, show_default=True, help="Load the models before serving.")
@click.option(
    "--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]), default="info"
)
def serve_cmd(
    db: Path, host: str, port: int, public: bool, max_body_bytes: int, warm: bool, log_level: str
) -> None:
    """Serve the stories in the store as web pages and a JSON API (OpenAPI spec at /openapi.json).

    Writes (POST /api/articles) need the bearer token in PARALLAX_API_TOKEN; without it they are refused.
    """
    try:
        import uvicorn

        from parallax.server.app import create_app
    except ModuleNotFoundError as exc:
        raise click.ClickException(
            f"parallax serve needs the 'serve' extra ({exc.name} is missing): pip install 'news-parallax[serve]'"
        ) from exc
    from parallax.pipeline import Parallax
    from parallax.settings import load_settings
    from parallax.store import Store

    if not is_loopback(host) and not public:
        raise click.UsageError(
            f"--host {host} is not a loopback address and reads are open to anyone who can connect; "
            "pass --public to do it anyway"
        )
    token = os.environ.get("PARALLAX_API_TOKEN") or None
    settings = load_settings(db=str(db))
    if not db.exists():
        click.echo(f"{db}: no store yet; starting with an empty one", err=True)
    engine = Parallax(settings=settings)
    if warm:
        click.echo("loading models ...", err=True)
        engine.warm_up()
    with Store(db) as store:
        app = create_app(
            store=store, token=token, max_body_bytes=max_body_bytes, settings=settings, engine=engine
        )
        click.echo(
            f"serving {db} on http://{host}:{port}/ (writes {'enabled' if token else 'disabled: set PARALLAX_API_TOKEN'})",
            err=True,
        )
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=log_level == "debug")
