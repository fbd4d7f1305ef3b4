"""``touchdown ground``: the ground server (archive, alarms, LOS, REST + websocket, TCP ingest).

Thin over ``touchdown.ground``. ``touchdown ground ingest FILE`` (a recorded frame file) waits
for the TM frame layer and is not offered yet.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import click

from touchdown.cli.common import errors_to_exit

HOST_HELP = ("Address to listen on (web API and TCP ingest). The default 127.0.0.1 admits "
             "only this machine; 0.0.0.0 exposes the server, unauthenticated, to every "
             "network this machine is on.")


def _open(archive_path: Path, los_timeout: float | None):  # -> Ingest
    from touchdown.ground.archive import Archive, ArchiveOpenError
    from touchdown.ground.ingest import Ingest
    from touchdown.telemetry.dictionary import load_dictionary

    try:
        archive = Archive(archive_path)
    except ArchiveOpenError as exc:
        raise click.BadParameter(str(exc), param_hint="--archive") from None
    return Ingest(load_dictionary(), archive, los_timeout)


async def _get(ingest, path: str) -> tuple[int, str]:
    """Answer one GET in-process (a throwaway listener on a free local port)."""
    from aiohttp import ClientSession, web

    from touchdown.ground.server import make_app

    runner = web.AppRunner(make_app(ingest))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        host, port = runner.addresses[0][:2]
        async with ClientSession() as session, session.get(f"http://{host}:{port}{path}") as r:
            return r.status, await r.text()
    finally:
        await runner.cleanup()


async def _serve(ingest, host: str, port: int, ingest_port: int, quiet: bool) -> None:
    from aiohttp import web

    from touchdown.ground.server import make_app, start_ingest_server

    runner = web.AppRunner(make_app(ingest), access_log=None)
    await runner.setup()
    try:
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except OSError as exc:
            raise click.BadParameter(f"cannot listen on {host}:{port} ({exc.strerror}); give "
                                     "another port, or 0 for a free one",
                                     param_hint="--port") from None
        try:
            tcp = await start_ingest_server(ingest, host, ingest_port)
        except OSError as exc:
            raise click.BadParameter(f"cannot listen on {host}:{ingest_port} ({exc.strerror});"
                                     " give another port, or 0 for a free one",
                                     param_hint="--ingest-port") from None
        web_port = runner.addresses[0][1]
        tcp_port = tcp.sockets[0].getsockname()[1]
        if not quiet:
            click.echo(f"ground: archive {ingest.archive.path}\n"
                       f"ground: API on http://{host}:{web_port}/api/parameters, realtime "
                       f"ws://{host}:{web_port}/api/realtime\n"
                       f"ground: ingest on tcp://{host}:{tcp_port} (concatenated space "
                       "packets until the frame layer is plugged in); Ctrl-C stops",
                       err=True)
        try:
            await asyncio.Event().wait()
        finally:
            tcp.close()
            await tcp.wait_closed()
    finally:
        await runner.cleanup()


@click.command()
@click.option("--archive", "archive_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("ground.sqlite"), show_default=True,
              help="SQLite archive; created if missing, continued if present.")
@click.option("--host", default="127.0.0.1", show_default=True, help=HOST_HELP)
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Web API port (0: a free one).")
@click.option("--ingest-port", type=click.IntRange(0, 65535), default=10015,
              show_default=True, help="TCP telemetry ingest port (0: a free one).")
@click.option("--los-timeout", type=click.FloatRange(min=0.0, min_open=True), default=None,
              help="Seconds of silence before loss of signal [default: the longest packet "
                   "expiry in the telemetry dictionary].")
@click.option("--get", "get_path", metavar="PATH", default=None,
              help="Answer one GET (e.g. /api/link) in-process, print it and exit; exits 1 "
                   "unless the answer is 200.")
@click.option("--quiet", "-q", is_flag=True, help="No startup lines on stderr.")
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
def ground(archive_path: Path, host: str, port: int, ingest_port: int,
           los_timeout: float | None, get_path: str | None, quiet: bool, debug: bool) -> None:
    """Run the ground station: archive, alarms, loss of signal, web API and TCP ingest.

    The API serves the telemetry dictionary, history, latest values, alarms (acknowledge with
    POST /api/alarms/ID/acknowledge), link status, events and the outcome estimate after loss
    of signal; /api/realtime is a websocket of new values.
    """
    with errors_to_exit(debug):
        ingest = _open(archive_path, los_timeout)
        try:
            if get_path is not None:
                status, text = asyncio.run(_get(ingest, get_path))
                click.echo(text)
                if status != 200:
                    raise click.exceptions.Exit(1)
                return
            with contextlib.suppress(KeyboardInterrupt):
                asyncio.run(_serve(ingest, host, port, ingest_port, quiet))
            if not quiet:
                click.echo("ground: stopped; the archive is committed", err=True)
        finally:
            ingest.archive.close()

