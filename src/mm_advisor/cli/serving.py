"""`mm-advisor serve`: the consultation in a browser (the `web` extra)."""

from __future__ import annotations

import errno
import os
import shutil
import socket
import tempfile

import click

from ..knowledge import rulebase as rulebase_mod
from ..knowledge.layout import Layout
from .base import UserError, announce, cli, kb_options, log_option, sign_key_option

LOCAL = ("127.0.0.1", "localhost", "::1")


@cli.command()
@kb_options
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="The address to listen on. Only this machine can reach the default; to serve others, "
    "put it behind a reverse proxy with TLS (docs/serving.md).",
)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@log_option("Log every consultation, as `consult --log` does (off unless given).")
@sign_key_option("Sign every logged trace with this private key (from `keys generate`).")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes (each serves any visit).",
)
@click.option(
    "--idle-minutes",
    type=click.IntRange(1, 24 * 60),
    default=30,
    show_default=True,
    help="A consultation left this long without a request is forgotten.",
)
@click.option(
    "--rate-limit",
    type=click.IntRange(1, 1_000_000),
    default=300,
    show_default=True,
    help="Requests a minute accepted from one address (per worker).",
)
def serve(
    where: Layout,
    host: str,
    port: int,
    log_path: str | None,
    sign_key: str | None,
    workers: int,
    idle_minutes: int,
    rate_limit: int,
) -> None:
    """Serve the consultation in a browser: the same questions, result, report and log as
    `consult`, for people who never open a terminal. Ctrl-C stops it."""
    try:
        import uvicorn

        from ..web.app import ENVIRONMENT, Settings
    except ImportError:
        raise UserError(
            "mm-advisor serve needs the web extra: pip install 'mm-advisor[web]'"
        ) from None
    from ..audit.record import Keeper, signer_from

    rulebase_mod.load(where)  # a mistake in the files is one line now, not in every worker
    with Keeper(signer_from(sign_key), log_path):
        pass  # the key and the log can be opened
    _can_listen(host, port)
    announce(where)
    private = tempfile.mkdtemp(prefix="mm-advisor-serve-")  # the visits in progress (0700)
    settings = Settings(
        kb=str(where.root),
        rules=str(where.rules),
        facts=str(where.facts),
        sessions=os.path.join(private, "visits.sqlite"),
        log=log_path,
        sign_key=sign_key,
        idle_minutes=idle_minutes,
        rate=rate_limit,
    )
    os.environ[ENVIRONMENT] = settings.to_environment()
    if host not in LOCAL:
        click.echo(
            f"Listening on {host}: anyone who can reach it can consult, over plain HTTP. Put it "
            "behind a reverse proxy with TLS (docs/serving.md).",
            err=True,
        )
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"Serving the consultation at http://{shown}:{port}/ (Ctrl-C stops).", err=True)
    try:
        uvicorn.run(
            "mm_advisor.web.app:from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            proxy_headers=True,  # the scheme and address a local reverse proxy forwards
            server_header=False,
            access_log=False,  # the proxy logs requests; no page address holds an answer anyway
            log_level="warning",
        )
    finally:
        shutil.rmtree(private, ignore_errors=True)


def _can_listen(host: str, port: int) -> None:
    """Refuse, in one line, an address that cannot be listened on (taken, or not this
    machine's), before any worker starts."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UserError(f"--host: cannot listen on {host!r}: no such address") from None
    family, kind, proto, _, address = found[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            why = "it is in use" if error.errno == errno.EADDRINUSE else error.strerror
            raise UserError(f"--port: cannot listen on {host}:{port}: {why}") from None
