"""docs/commanding.md's command and flight-rule tables, made from the dictionary (shell).

``python -m touchdown.telemetry.command_docs`` rewrites the table between the page's markers;
a test fails when the page and the dictionary differ.
"""

from __future__ import annotations

import sys
from pathlib import Path

from touchdown.telemetry.dictionary import Command, Dictionary, load_dictionary

PAGE = Path(__file__).resolve().parents[3] / "docs" / "commanding.md"
BEGIN = "<!-- command table: made by python -m touchdown.telemetry.command_docs -->"
END = "<!-- end of the command table -->"


def _arguments(command: Command) -> str:
    """The arguments, each with what it accepts (a table cell: no pipes)."""
    return "; ".join(f"`{a.name}`: " + (", ".join(a.enum.values()) if a.enum else a.describe())
                     for a in command.arguments) or "none"


def _verifiers(command: Command) -> str:
    return "<br>".join(f"{v.stage}: `{v.text}` within {v.window_s:g} s"
                       for v in command.verifiers)


def table(dictionary: Dictionary) -> str:
    """The command table in Markdown: one row per command, in opcode order."""
    rows = ["| command | APID / opcode | significance | arguments | what it does | verified by |",
            "|---|---|---|---|---|---|"]
    for c in sorted(dictionary.commands, key=lambda c: (c.apid, c.opcode)):
        effect = " ".join(c.effect.split())
        rows.append(f"| `{c.name}` | {c.apid:#05x} / {c.opcode} | {c.significance} | "
                    f"{_arguments(c)} | {c.description}. {effect} | {_verifiers(c)} |")
    return "\n".join(rows)


def rules_table(dictionary: Dictionary) -> str:
    """The flight rules in Markdown: what each blocks, when, and why."""
    rows = ["| flight rule | blocks | while | why (what the operator reads) |", "|---|---|---|---|"]
    for r in dictionary.rules:
        blocks = ", ".join(f"`{c}`" for c in r.commands)
        rows.append(f"| `{r.name}` | {blocks} | `{r.text}` | {' '.join(r.reason.split())} |")
    return "\n".join(rows)


def section(dictionary: Dictionary) -> str:
    """The page's section between (and with) its markers."""
    return f"{BEGIN}\n{table(dictionary)}\n\n{rules_table(dictionary)}\n{END}"


def current(text: str) -> str:
    """The section as it stands in the page's text ('' when the markers are missing)."""
    start, end = text.find(BEGIN), text.find(END)
    return text[start:end + len(END)] if 0 <= start < end else ""


def main() -> int:
    text = PAGE.read_text("utf-8")
    old = current(text)
    if not old:
        print(f"{PAGE}: the markers {BEGIN!r} and {END!r} are missing; put them where the "
              "table goes", file=sys.stderr)
        return 1
    PAGE.write_text(text.replace(old, section(load_dictionary())), "utf-8")
    print(f"wrote the command table in {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
