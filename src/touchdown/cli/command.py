"""``touchdown command``: command a live flight through its ground server, as a signed-in user.

``touchdown command NAME [ARG=VALUE ...] --server URL --user NAME`` queues a command (the
server checks it against the command dictionary and the flight rules) and follows its stages
until it is done, refused, or waiting for people (a critical command: ``arm``, ``execute``,
then a flight director's ``approve``; a blocked one: a flight director's ``override``).
``touchdown command arm|execute|approve|cancel ID`` and ``override ID --reason TEXT`` act on a
queued command; ``touchdown command history`` lists them (``--csv FILE`` exports every stage).
``touchdown command uplink`` shows the command link, and with ``unlock``, ``set_vr VALUE`` or
``resume`` directs it (COP-1, for a lander in lockout or a FOP that stopped). The password is
asked for, or read from stdin with ``--password-stdin``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from touchdown.cli.common import EXIT_FAILED, errors_to_exit
from touchdown.timefmt import mission_clock

ACTIONS = ("arm", "execute", "approve", "override", "cancel")
WAITING = {"queued": "arm it (touchdown command arm ID)",
           "armed": "execute it (touchdown command execute ID)",
           "approval": "a flight director approves it (touchdown command approve ID)",
           "blocked": "a flight director may override the rule, with a reason "
                      "(touchdown command override ID --reason TEXT)"}
FAILED = ("failed", "timed_out", "cancelled")


class _CommandGroup(click.Group):
    """Subcommands (the actions, ``history``); any other name is a command to send."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            return "send", self.commands["send"], args
        return super().resolve_command(ctx, args)


def _server_options(user_required: bool = True) -> Any:
    """The options every subcommand takes: the server, who signs in, how the password comes."""
    def add(f: Any) -> Any:
        for option in reversed((
                click.option("--server", required=True, metavar="URL",
                             help="The ground server's address, as it printed at its start."),
                click.option("--user", required=user_required,
                             help="Sign in as this user." if user_required else
                             "Sign in as this user (reading needs no one)."),
                click.option("--password-stdin", is_flag=True,
                             help="Read the password from stdin (one line); else it is asked."),
                click.option("--debug", is_flag=True,
                             help="Show the full traceback on errors."))):
            f = option(f)
        return f
    return add


def _client(server: str, user: str | None, password_stdin: bool) -> Any:
    from touchdown.ground.client import GroundClient

    client = GroundClient(server)
    if user is None:
        return client
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = click.prompt(f"Password for {user}", hide_input=True)
    else:
        raise click.UsageError("stdin is not a terminal, so the password cannot be asked for; "
                               "give --password-stdin and pipe it in (one line)")
    session = client.sign_in(user, password)
    click.echo(f"signed in as {session['user']} ({session['role']})", err=True)
    return client


def _stage_line(stage: dict[str, Any]) -> str:
    by = f"  by {stage['by']}" if stage.get("by") else ""
    detail = f"  {stage['detail']}" if stage.get("detail") else ""
    return f"  {mission_clock(stage['t'])}  {stage['stage']:<10}{by}{detail}"


def _follow(client: Any, record: dict[str, Any], timeout_s: float) -> int:
    """Print each stage as it comes until the command is done, refused or waits for people."""
    command_id = record["id"]
    click.echo(f"command {command_id} ({record['name']}, {record['significance']})")
    effect = {c["name"]: any(v["stage"] == "effect" for v in c["verifiers"])
              for c in client.get("/api/commands/dictionary")["commands"]}
    shown, deadline = 0, time.monotonic() + timeout_s
    while True:
        record = client.get(f"/api/commands/{command_id}")
        for stage in record["stages"][shown:]:
            click.echo(_stage_line(stage))
        shown = len(record["stages"])
        state = record["state"]
        if state in WAITING:
            click.echo(f"waiting: {WAITING[state].replace('ID', str(command_id))}")
            return 0
        if state in FAILED:
            return EXIT_FAILED
        if state == "effect" or (state == "executed" and not effect.get(record["name"])):
            return 0
        if time.monotonic() > deadline:
            click.echo(f"still {state} after {timeout_s:g} s; follow it with `touchdown "
                       "command history`", err=True)
            return EXIT_FAILED
        time.sleep(0.5)


@click.group(cls=_CommandGroup)
def command() -> None:
    """Command a live flight: NAME [ARG=VALUE ...], or an action on a queued command."""


@command.command("send")
@click.argument("name")
@click.argument("arguments", nargs=-1, metavar="[ARG=VALUE]...")
@_server_options()
@click.option("--timeout", "timeout_s", type=float, default=60.0, show_default=True,
              help="Seconds (wall clock) to follow its stages.")
def send(name: str, arguments: tuple[str, ...], server: str, user: str, password_stdin: bool,
         debug: bool, timeout_s: float) -> None:
    """Queue command NAME with its arguments (ARG=VALUE: a number, or a state's name)."""
    args: dict[str, Any] = {}
    for text in arguments:
        key, eq, value = text.partition("=")
        if not eq or not key:
            raise click.UsageError(f"argument {text!r}: give ARG=VALUE, e.g. unit=A")
        try:
            args[key] = float(value)
        except ValueError:
            args[key] = value  # a state's name
    with errors_to_exit(debug):
        client = _client(server, user, password_stdin)
        record = client.post("/api/commands", {"name": name, "arguments": args})
        code = _follow(client, record, timeout_s)
    sys.exit(code)


def _action(action: str) -> click.Command:
    @click.argument("command_id", metavar="ID", type=int)
    @_server_options()
    @click.option("--timeout", "timeout_s", type=float, default=60.0, show_default=True,
                  help="Seconds (wall clock) to follow its stages.")
    def run(command_id: int, server: str, user: str, password_stdin: bool, debug: bool,
            timeout_s: float, reason: str | None = None) -> None:
        with errors_to_exit(debug):
            client = _client(server, user, password_stdin)
            body = {"reason": reason} if action == "override" else {}
            record = client.post(f"/api/commands/{command_id}/{action}", body)
            code = _follow(client, record, timeout_s)
        sys.exit(code)

    run.__doc__ = f"{action.capitalize()} command ID."
    if action == "override":
        run = click.option("--reason", required=True,
                           help="Why the flight rule is overridden (the audit log keeps it).")(run)
    return click.command(action)(run)


for _name in ACTIONS:
    command.add_command(_action(_name))


@command.command("history")
@_server_options(user_required=False)
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write every stage of every command to this CSV file.")
def history(server: str, user: str | None, password_stdin: bool, debug: bool,
            csv_path: Path | None) -> None:
    """List the commands and their stages."""
    with errors_to_exit(debug):
        client = _client(server, user, password_stdin)
        after = None
        while True:
            page = client.get("/api/commands" + (f"?after={after}" if after else ""))
            for record in page["commands"]:
                click.echo(f"command {record['id']} ({record['name']} "
                           f"{record['arguments']}): {record['state']}")
                for stage in record["stages"]:
                    click.echo(_stage_line(stage))
            after = page["next"]
            if after is None:
                break
        if csv_path is not None:
            csv_path.write_bytes(client.download("/api/commands.csv"))
            click.echo(f"wrote {csv_path}")


def _uplink_lines(status: dict[str, Any]) -> list[str]:
    if not status["uplink"]:
        return ["uplink: none (this server shows a recorded flight)"]
    lines = [f"uplink: {'STOPPED: ' + status['alert'] if status['alert'] else 'running'}",
             f"  FOP: next N(S) {status['next_seq']}, acknowledged to {status['acknowledged']}, "
             f"{status['outstanding']} outstanding, {status['waiting']} waiting "
             f"(window {status['window']})"]
    clcw = status["clcw"]
    if clcw is None:
        lines.append("  the lander's CLCW: none received yet")
    else:
        flags = [f for f in ("lockout", "wait", "retransmit") if clcw[f]]
        lines.append(f"  the lander's CLCW at {mission_clock(clcw['t'])}: V(R) "
                     f"{clcw['report_value']}, {', '.join(flags) if flags else 'no flags'}")
    return lines


@command.command("uplink")
@click.argument("directive", required=False, type=click.Choice(["unlock", "set_vr", "resume"]))
@click.argument("value", required=False, type=click.IntRange(0, 255))
@_server_options(user_required=False)
def uplink(directive: str | None, value: int | None, server: str, user: str | None,
           password_stdin: bool, debug: bool) -> None:
    """Show the command link (the FOP, the lander's last CLCW); with DIRECTIVE, act on it:
    unlock (a lander in lockout), set_vr VALUE (restart the frame numbering), resume (after
    the FOP stopped)."""
    if directive is not None and user is None:
        raise click.UsageError(f"a directive changes the uplink: give --user to sign in as an "
                               f"operator (touchdown command uplink {directive} --user NAME)")
    if (directive == "set_vr") != (value is not None):
        raise click.UsageError("set_vr takes the next frame's N(S), 0..255 (touchdown command "
                               "uplink set_vr 0); the other directives take no value")
    with errors_to_exit(debug):
        client = _client(server, user, password_stdin)
        status = (client.get("/api/uplink") if directive is None else
                  client.post(f"/api/uplink/{directive}",
                              {} if value is None else {"value": value}))
        for line in _uplink_lines(status):
            click.echo(line)
