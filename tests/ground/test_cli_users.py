"""``touchdown ground users add|list|remove``: operators made from the command line, the
password from the terminal (asked twice) or one line of stdin, and every mistake one line
naming the fix, exit 2."""

import importlib
import json
import re
import sqlite3

import pytest
from click.testing import CliRunner

from touchdown.cli import main
from touchdown.ground.archive import Archive
from touchdown.ground.users import ROLES, verify_password

SECRET = "sea of tranquility"
ground_cli = importlib.import_module("touchdown.cli.ground")  # (the package names its group)


@pytest.fixture
def station(tmp_path):
    """A new, empty station archive (no server running on it)."""
    path = tmp_path / "station.sqlite"
    Archive(path, create=True).close()
    return path


def users(*args: str, stdin: str | None = None):
    return CliRunner().invoke(main, ["ground", "users", *args], input=stdin)


def test_users_are_added_listed_and_removed_with_the_password_from_stdin(station):
    r = users("add", "ann", "--role", "operator", "--archive", str(station),
              "--password-stdin", stdin=SECRET + "\n")
    assert r.exit_code == 0, r.output
    assert r.output == f"added ann (operator) to {station}\n"
    r = users("add", "vic", "--role", "viewer", "--archive", str(station), "--password-stdin",
              stdin=SECRET + "!\n")
    assert r.exit_code == 0, r.output
    before = station.read_bytes()
    r = users("list", "--archive", str(station))
    assert r.exit_code == 0, r.output
    ann, vic = r.output.splitlines()
    assert ann.split()[:2] == ["ann", "operator"] and "(command line)" in ann
    assert vic.split()[:2] == ["vic", "viewer"]
    listed = json.loads(users("list", "--archive", str(station), "--json").output)
    assert [(u["name"], u["role"]) for u in listed] == [("ann", "operator"), ("vic", "viewer")]
    assert station.read_bytes() == before  # listing reads only
    assert SECRET.encode() not in before
    with Archive(station, read_only=True) as a:
        assert verify_password(a.user("ann").password_hash, SECRET)
        assert verify_password(a.user("vic").password_hash, SECRET + "!")  # one line, as given
    r = users("remove", "ann", "--archive", str(station))
    assert r.exit_code == 0 and r.output == f"removed ann (operator) from {station}\n"
    r = users("list", "--archive", str(station), "--json")
    assert [u["name"] for u in json.loads(r.output)] == ["vic"]
    with Archive(station, read_only=True) as a:
        rows, _ = a.audit_page(100)
    assert [(e.action, e.target, e.detail, e.outcome) for e in rows] == [
        ("user.add", "ann", {"role": "operator"}, "ok"),
        ("user.add", "vic", {"role": "viewer"}, "ok"),
        ("user.remove", "ann", {"role": "operator"}, "ok")]
    assert all(e.user.endswith("(command line)") for e in rows)


def test_on_a_terminal_the_password_is_asked_twice(station, monkeypatch):
    monkeypatch.setattr(ground_cli, "stdin_is_a_terminal", lambda: True)
    r = users("add", "fd", "--role", "flight_director", "--archive", str(station),
              stdin=f"{SECRET}\nsomething else\n{SECRET}\n{SECRET}\n")
    assert r.exit_code == 0, r.output
    assert r.output.count("Password:") == 2 and r.output.count("Repeat it:") == 2
    assert "do not match" in r.output and SECRET not in r.output  # typed, never echoed
    with Archive(station, read_only=True) as a:
        assert a.user("fd").role == "flight_director"
        assert verify_password(a.user("fd").password_hash, SECRET)


def test_mistakes_are_one_line_naming_the_fix(station, tmp_path):
    def refused(*args: str, stdin: str | None = SECRET + "\n") -> str:
        r = users(*args, stdin=stdin)
        assert r.exit_code == 2, r.output
        return r.output

    add = ("add", "ann", "--archive", str(station), "--password-stdin")
    assert "viewer, operator, flight_director" in refused(*add, "--role", "admin")
    assert "letters, digits" in refused("add", "two words", "--role", "operator", "--archive",
                                        str(station), "--password-stdin")
    assert "at least 8 characters" in refused(*add, "--role", "operator", stdin="short\n")
    assert "gave no password" in refused(*add, "--role", "operator", stdin="")
    out = refused("add", "ann", "--role", "operator", "--archive", str(station), stdin="")
    assert "not a terminal" in out and "--password-stdin" in out  # (CliRunner: not a TTY)
    missing = tmp_path / "typo.sqlite"
    out = refused("add", "ann", "--role", "operator", "--archive", str(missing),
                  "--password-stdin")
    assert "no such archive" in out and "--new" in out and not missing.exists()
    assert "no such archive" in refused("list", "--archive", str(missing))
    assert users(*add, "--role", "operator", stdin=SECRET + "\n").exit_code == 0
    assert "exists" in refused(*add, "--role", "viewer")
    assert "no user 'bob' (users: ann)" in refused("remove", "bob", "--archive", str(station))
    with Archive(station):  # a server is running on it: one writer
        out = refused(*add, "--role", "viewer")
        assert "pid" in out and "stop it" in out
    assert "Missing option '--archive'" in refused("list")  # the archive is never guessed
    with Archive(station, read_only=True) as a:
        assert [u.name for u in a.users()] == ["ann"]  # nothing else was added


def test_the_help_names_every_role():
    r = CliRunner().invoke(main, ["ground", "users", "add", "--help"])
    assert r.exit_code == 0
    for role in ROLES:
        assert role in " ".join(r.output.split()), role


def test_users_on_a_schema_2_archive_are_none_until_one_is_added(tmp_path):
    path = tmp_path / "old.sqlite"
    Archive(path, create=True).close()
    db = sqlite3.connect(path)  # as touchdown wrote them before users (schema 2)
    db.executescript("DROP TABLE users; DROP TABLE audit; DROP TABLE commands; "
                     "DROP TABLE command_stages; UPDATE meta SET value = '2' "
                     "WHERE key = 'schema';")
    db.close()
    before = path.read_bytes()
    r = users("list", "--archive", str(path))
    assert r.exit_code == 0 and "no users" in r.output
    assert path.read_bytes() == before
    r = users("add", "ann", "--role", "operator", "--archive", str(path), "--password-stdin",
              stdin=SECRET + "\n")
    assert r.exit_code == 0, r.output
    with Archive(path, read_only=True) as a:
        assert a.schema_version == 3 and [u.name for u in a.users()] == ["ann"]


def test_a_live_flight_makes_a_throwaway_operator_kept_only_as_a_hash(archive, dictionary):
    from touchdown.cli.serving import add_demo_operator
    from touchdown.ground.ingest import Ingest

    ingest = Ingest(dictionary, archive)
    names = set()
    for _ in range(2):
        name, password = add_demo_operator(ingest, 1234.5)
        names.add(name)
        user = archive.user(name)
        assert re.fullmatch(r"demo-[0-9a-f]{4}", name) and len(password) >= 16
        assert (user.role, user.created_by, user.t_created) == ("operator", "fly --live", 1234.5)
        assert verify_password(user.password_hash, password)
    assert len(names) == 2  # random each time
    rows, _ = archive.audit_page(10)
    assert [(e.action, e.user) for e in rows] == [("user.add", "fly --live")] * 2
