"""The ground's commanding (shell): who may send what, the two-person rule, flight rules, and
each command's verification stages from queued to effect.

A command goes through these stages (``STAGES``), each with the ground time, who (for the
people's stages) and a detail:

============  =================================================================================
queued        an operator asked for it; the dictionary's checks passed (nothing malformed is
              ever queued)
armed         (critical) the operator armed it; ``execute`` next, by an operator
approval      (critical) executed by the operator, waiting for a flight director who is not
              that operator (the two-person rule)
blocked       a flight rule holds on the latest telemetry (the rule's reason); a flight
              director may ``override`` it with a reason
released      cleared to go (who released it: the operator, or the approving flight director)
sent          handed to the link's sequence control (COP-1)
radiated      its frame's last bit left the antenna (the estimated arrival onboard: that time
              plus the one-way light time)
received      the ``received`` verifier held in telemetry (acknowledged onboard)
executed      the ``executed`` verifier held
failed        refused onboard (``command_rejected`` with its code: why, from the commanding
              packet)
effect        the ``effect`` verifier held: done (a command without one is done when
              ``executed``)
timed_out     a verifier's window (onboard time after the arrival, plus the light time back and
              a margin for the downlink) passed without it
cancelled     an operator withdrew it before release
============  =================================================================================

Verifiers are the dictionary's: a condition on one packet's fields, within a window of onboard
time after the estimated arrival and the flight software's next cycle (a coasting flight
software sleeps up to ``uplink.execution_wait_s`` between runs). The ground never reads
truth: only the telemetry it received.
Who may: the roles' permissions (``touchdown.ground.users.ROLES``): ``commands`` to queue,
arm, execute and cancel, ``approve`` to approve a critical command, ``override`` to override a
flight rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from touchdown.errors import CommandError, CommandingError
from touchdown.ground.users import ROLES, refused
from touchdown.telemetry.dictionary import Command, Condition, Dictionary, Rule
from touchdown.telemetry.packets import TmPacket
from touchdown.telemetry.telecommands import TelecommandEncoder, raw_arguments

STAGES = ("queued", "armed", "approval", "blocked", "released", "sent", "radiated", "received",
          "executed", "failed", "effect", "timed_out", "cancelled")
FINAL = frozenset({"failed", "effect", "timed_out", "cancelled"})
VERIFY_MARGIN_S = 10.0  # s of downlink delay (queue, frames) a verifier's window is given


@dataclass(frozen=True)
class Stage:
    """One stage a command reached: when (ground time, s since the epoch), who, why."""

    name: str
    t: float
    by: str = ""
    detail: str = ""


@dataclass
class CommandRecord:
    """One command asked for, with every stage it reached."""

    id: int
    name: str
    arguments: dict[str, Any]
    significance: str
    stages: list[Stage] = field(default_factory=list)
    packet: bytes = b""  # the telecommand packet, made at release
    arrival_first_s: float = math.nan  # estimated onboard arrival of its first radiation
    arrival_last_s: float = math.nan  # ... and of its latest (a resend)

    @property
    def state(self) -> str:
        return self.stages[-1].name

    def reached(self, stage: str) -> Stage | None:
        return next((s for s in self.stages if s.name == stage), None)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "arguments": self.arguments,
                "significance": self.significance, "state": self.state,
                "stages": [{"stage": s.name, "t": s.t, "by": s.by, "detail": s.detail}
                           for s in self.stages]}  # as the archive's history gives them


def rules_blocking(dictionary: Dictionary, name: str,
                   latest: Callable[[str], float | None]) -> list[tuple[Rule, str]]:
    """The flight rules that block command ``name`` now, each with what the operator reads.
    ``latest`` gives a parameter's latest raw value (None: no telemetry yet, which blocks too:
    the rule cannot be checked)."""
    out = []
    for rule in dictionary.rules:
        if name not in rule.commands:
            continue
        unknown = [c.parameter for c in rule.conditions if latest(c.parameter) is None]
        if unknown:
            out.append((rule, f"{rule.name}: no telemetry yet for {', '.join(unknown)}, so the "
                              f"rule cannot be checked. {rule.reason}"))
        elif all(_holds(c, latest(c.parameter)) for c in rule.conditions):
            out.append((rule, f"{rule.name}: {rule.reason}"))
    return out


def _holds(condition: Condition, value: float | None) -> bool:
    return value is not None and condition.holds(value)


class Commanding:
    """The command queue and its verification.

    clock: ground time now (s since the epoch); latest: a parameter's latest raw value;
    release: hands a released command's packet to the link (it calls ``sent`` and
    ``radiated`` back); audit: records every person's action (user, role, action, target,
    detail, outcome); on_stage: told each stage a command reaches (the archive keeps them);
    first_id: the id the next command gets (after those archived).
    """

    def __init__(self, dictionary: Dictionary, clock: Callable[[], float],
                 latest: Callable[[str], float | None],
                 release: Callable[[CommandRecord], None],
                 audit: Callable[[str, str, str, str, dict[str, Any], str], None],
                 light_time_s: Callable[[float], float] = lambda t: 1.3,
                 on_stage: Callable[[CommandRecord, Stage], None] = lambda r, s: None,
                 first_id: int = 1) -> None:
        self.dictionary, self.clock, self.latest = dictionary, clock, latest
        self._release, self.audit, self.light_time_s = release, audit, light_time_s
        self._on_stage = on_stage
        self.encoder = TelecommandEncoder(dictionary)
        code = next(f for f in dictionary["event"].fields if f.name == "code")
        self._rejected = next(k for k, v in code.enum.items() if v == "command_rejected")
        self.records: dict[int, CommandRecord] = {}
        self._next_id = first_id

    # ---------------------------------------------------------------- people's actions
    def submit(self, name: str, arguments: Mapping[str, Any], user: str,
               role: str) -> CommandRecord:
        """Queue a command (an operator or flight director); a critical one waits to be armed.
        CommandError (unknown, bad arguments) and CommandingError (role) name the problem."""
        self._may(user, role, "commands", "send commands", "queue", name)
        command = self.encoder.command(name)
        try:
            raw_arguments(command, arguments)
        except CommandError as exc:
            self.audit(user, role, "queue", name, {"arguments": dict(arguments)},
                        refused(400, str(exc)))
            raise
        record = CommandRecord(self._next_id, name, dict(arguments), command.significance)
        self._next_id += 1
        self.records[record.id] = record
        self._stage(record, "queued", user)
        self.audit(user, role, "queue", self._target(record), {"arguments": dict(arguments)},
                    "ok")
        if not command.critical:
            self._try_release(record, user)
        return record

    def arm(self, record_id: int, user: str, role: str) -> CommandRecord:
        """Arm a queued critical command (an operator)."""
        record = self._get(record_id)
        self._may(user, role, "commands", "arm commands", "arm", self._target(record))
        self._in(record, ("queued",), "arm", user, role)
        self._stage(record, "armed", user)
        self.audit(user, role, "arm", self._target(record), {}, "ok")
        return record

    def execute(self, record_id: int, user: str, role: str) -> CommandRecord:
        """Execute an armed critical command: it waits for a flight director's approval."""
        record = self._get(record_id)
        self._may(user, role, "commands", "execute commands", "execute", self._target(record))
        self._in(record, ("armed",), "execute", user, role)
        self._stage(record, "approval", user)
        self.audit(user, role, "execute", self._target(record), {}, "ok")
        return record

    def approve(self, record_id: int, user: str, role: str) -> CommandRecord:
        """Approve a critical command (a flight director other than the one who executed it)."""
        record = self._get(record_id)
        self._may(user, role, "approve", "approve critical commands", "approve",
                  self._target(record))
        self._in(record, ("approval",), "approve", user, role)
        executed_by = record.reached("approval").by  # type: ignore[union-attr]
        if user == executed_by:
            why = (f"{user} executed {self._target(record)}: a second person must approve it "
                   "(two-person rule)")
            self.audit(user, role, "approve", self._target(record), {}, refused(403, why))
            raise CommandingError(why, 403)
        self.audit(user, role, "approve", self._target(record), {}, "ok")
        self._try_release(record, user)
        return record

    def override(self, record_id: int, user: str, role: str, reason: str) -> CommandRecord:
        """Release a command a flight rule blocked (a flight director, with a reason)."""
        record = self._get(record_id)
        self._may(user, role, "override", "override flight rules", "override",
                  self._target(record))
        self._in(record, ("blocked",), "override", user, role)
        if not reason or not reason.strip():
            why = "say why the rule is overridden: the audit log keeps the reason"
            self.audit(user, role, "override", self._target(record), {}, refused(400, why))
            raise CommandingError(why, 400)
        self.audit(user, role, "override", self._target(record),
                    {"reason": reason.strip(), "rules": record.stages[-1].detail}, "ok")
        self._do_release(record, user, f"flight rules overridden: {reason.strip()}")
        return record

    def cancel(self, record_id: int, user: str, role: str) -> CommandRecord:
        """Withdraw a command not yet released."""
        record = self._get(record_id)
        self._may(user, role, "commands", "cancel commands", "cancel", self._target(record))
        self._in(record, ("queued", "armed", "approval", "blocked"), "cancel", user, role)
        self._stage(record, "cancelled", user)
        self.audit(user, role, "cancel", self._target(record), {}, "ok")
        return record

    # ---------------------------------------------------------------- the link's reports
    def sent(self, record_id: int) -> None:
        """The link's sequence control took the command's frame."""
        self._stage(self._get(record_id), "sent")

    def radiated(self, record_id: int, t_end: float, arrival_s: float) -> None:
        """A frame holding the command left the antenna at t_end, due onboard at arrival_s
        (a resend moves the estimate of the latest arrival only)."""
        record = self._get(record_id)
        if math.isnan(record.arrival_first_s):
            record.arrival_first_s = arrival_s
            self._stage(record, "radiated", detail=f"due onboard at {arrival_s:.3f} s",
                        t=t_end)
        record.arrival_last_s = arrival_s

    # ---------------------------------------------------------------- telemetry
    def done(self, record: CommandRecord) -> bool:
        """Whether the command's story is over: failed, timed out, cancelled, or every one of
        its verifiers held (its last stage ``effect``, or ``executed`` without one)."""
        command = self.encoder.command(record.name)
        return record.state in FINAL or (not math.isnan(record.arrival_first_s) and all(
            record.reached(v.stage) for v in command.verifiers))

    def on_packet(self, packet: TmPacket) -> None:
        """Check the verifiers of every command in flight against one received packet."""
        for record in self.records.values():
            if self.done(record) or math.isnan(record.arrival_first_s):
                continue
            command = self.encoder.command(record.name)
            if self.refused(command, record, packet):
                continue
            verifier = next(v for v in command.verifiers if not record.reached(v.stage))
            # the stages in order: a later one waits for this one
            if self._in_window(record, packet.t, verifier.window_s) and all(
                    c.parameter.split(".")[0] == packet.name
                    and c.holds(packet.values[c.parameter.split(".")[1]])
                    for c in verifier.conditions):
                self._stage(record, verifier.stage,
                            detail=f"{verifier.text} at onboard {packet.t:.1f} s")

    def tick(self) -> None:
        """Time out the commands whose next verifier's window has passed unmet."""
        now = self.clock()
        for record in self.records.values():
            if self.done(record) or math.isnan(record.arrival_first_s):
                continue
            command = self.encoder.command(record.name)
            v = next(v for v in command.verifiers if not record.reached(v.stage))
            deadline = (record.arrival_last_s + self.dictionary.uplink.execution_wait_s
                        + v.window_s + self.light_time_s(now) + VERIFY_MARGIN_S)
            if now > deadline:
                self._stage(record, "timed_out",
                            detail=f"no {v.stage} verifier ({v.text}) within {v.window_s:g} s "
                                   "of the arrival")

    # ---------------------------------------------------------------- inside
    def refused(self, command: Command, record: CommandRecord, packet: TmPacket) -> bool:
        """A command_rejected event with this command's code in its window: failed."""
        if packet.name != "event" or record.reached("executed"):
            return False
        window = max((v.window_s for v in command.verifiers), default=0.0)
        if (packet.values["code"] == self._rejected and packet.values["value"] == command.opcode
                and self._in_window(record, packet.t, window)):
            self._stage(record, "failed", detail=f"refused onboard at {packet.t:.1f} s "
                                                 "(why: commanding.last_rejection)")
            return True
        return False

    def _in_window(self, record: CommandRecord, t_onboard: float, window_s: float) -> bool:
        """Onboard time t within the window after the arrival, the flight software's longest
        wait for its next cycle (``uplink.execution_wait_s``) added."""
        wait = self.dictionary.uplink.execution_wait_s
        return (record.arrival_first_s - 0.5 <= t_onboard
                <= record.arrival_last_s + wait + window_s)

    def _try_release(self, record: CommandRecord, user: str) -> None:
        blocking = rules_blocking(self.dictionary, record.name, self.latest)
        if blocking:
            self._stage(record, "blocked", detail=" | ".join(text for _, text in blocking))
            return
        self._do_release(record, user, "")

    def _do_release(self, record: CommandRecord, user: str, detail: str) -> None:
        command = self.encoder.command(record.name)
        record.packet = self.encoder.encode(command.name, record.arguments)
        self._stage(record, "released", user, detail)
        self._release(record)

    def _stage(self, record: CommandRecord, name: str, by: str = "", detail: str = "",
               t: float | None = None) -> None:
        stage = Stage(name, self.clock() if t is None else t, by, detail)
        record.stages.append(stage)
        self._on_stage(record, stage)

    def _get(self, record_id: int) -> CommandRecord:
        record = self.records.get(record_id)
        if record is None:
            raise CommandingError(f"no command {record_id}: see the command history", 404)
        return record

    def _may(self, user: str, role: str, permission: str, what: str, action: str,
             target: str) -> None:
        if permission not in ROLES.get(role, frozenset()):
            roles = [r for r, p in ROLES.items() if permission in p]
            why = f"{user} is a {role} and may not {what} (that takes {' or '.join(roles)})"
            self.audit(user, role, action, target, {}, refused(403, why))
            raise CommandingError(why, 403)

    def _in(self, record: CommandRecord, stages: tuple[str, ...], action: str, user: str,
            role: str) -> None:
        if record.state not in stages:
            why = (f"{self._target(record)} is {record.state}; {action} needs it "
                   f"{' or '.join(stages)}")
            self.audit(user, role, action, self._target(record), {}, refused(409, why))
            raise CommandingError(why, 409)

    @staticmethod
    def _target(record: CommandRecord) -> str:
        return f"command {record.id} ({record.name})"
