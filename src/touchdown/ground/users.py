"""Operators in the archive (shell): names, roles and passwords, kept as argon2id hashes.

Roles, least first: ``viewer`` (reads only), ``operator`` (acts on alarms; queues, arms,
executes and cancels commands), ``flight_director`` (everything an operator may, and approves
critical commands and overrides flight rules: ``touchdown.ground.commanding``). A user is a
row of the archive's ``users`` table (name, role, the password's argon2id hash, when and by
whom it was made; never the password); adding and removing one is a row of the audit log.
``touchdown ground users`` adds, lists and removes them; ``touchdown.ground.auth`` signs them
in.
"""

from __future__ import annotations

import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from touchdown.errors import InputError
from touchdown.ground.archive import Archive, UserRecord

ROLES: dict[str, frozenset[str]] = {  # role -> what it may do, least first
    "viewer": frozenset(),
    "operator": frozenset({"alarms", "commands"}),
    # the second person of a critical command, and the one who may override a flight rule
    "flight_director": frozenset({"alarms", "commands", "approve", "override"}),
}
PASSWORD_MIN = 8  # characters
PASSWORD_MAX = 1024  # characters (argon2 takes any length; a bound keeps the work bounded)
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_HASHER = PasswordHasher()  # argon2id, RFC 9106's low-memory profile (t=3, 64 MiB, p=4)


def check_name(name: str) -> str:
    """A user name as given, or InputError saying what a name may be."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise InputError(f"user name {str(name)[:80]!r}: give 1 to 64 letters, digits, '.', "
                         "'_' or '-', starting with a letter or digit")
    return name


def check_role(role: str) -> str:
    """A role as given, or InputError naming the roles."""
    if role not in ROLES:
        raise InputError(f"role {str(role)[:80]!r} is not one of {', '.join(ROLES)}; give one "
                         "of them with --role")
    return role


def refused(status: int, message: str) -> str:
    """An audit row's outcome for a refusal."""
    return f"refused ({status}): {message}"


def check_password(password: str) -> str:
    """A password as given, or InputError when it is too short or too long."""
    if not isinstance(password, str) or len(password) < PASSWORD_MIN:
        raise InputError(f"the password is too short: give at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise InputError(f"the password is too long: give at most {PASSWORD_MAX} characters")
    return password


def hash_password(password: str) -> str:
    """The argon2id hash of a password (a PHC string: algorithm, parameters, salt, hash)."""
    return _HASHER.hash(check_password(password))


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` is the one ``password_hash`` was made from (slow on purpose)."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_new_user(archive: Archive, name: str, role: str) -> None:
    """InputError when a user of that name and role cannot be added: a bad name or role, or
    the name taken."""
    check_name(name)
    check_role(role)
    if archive.user(name) is not None:
        raise InputError(f"{archive.path}: user {name!r} exists; choose another name, or "
                         f"remove it first (`touchdown ground users remove {name}`)")


def add_user(archive: Archive, name: str, role: str, password: str, *, created_by: str,
             t_ground: float) -> UserRecord:
    """Add a user (its password hashed) and audit it, in one commit; InputError for a bad name,
    role or password, or a name taken. ``t_ground``: s since the mission epoch."""
    check_new_user(archive, name, role)
    user = UserRecord(name, role, hash_password(password), t_ground, created_by)
    archive.add_user(user)
    archive.add_audit(t_ground, created_by, None, "user.add", name, {"role": role}, "ok")
    archive.flush()
    return user


def remove_user(archive: Archive, name: str, *, removed_by: str, t_ground: float) -> UserRecord:
    """Remove a user and audit it, in one commit; InputError when there is none."""
    user = archive.user(name)
    if user is None:
        known = ", ".join(u.name for u in archive.users()) or "none"
        raise InputError(f"{archive.path}: no user {name!r} (users: {known}); "
                         "`touchdown ground users list` lists them")
    archive.remove_user(name)
    archive.add_audit(t_ground, removed_by, None, "user.remove", name, {"role": user.role}, "ok")
    archive.flush()
    return user


def dummy_hash() -> str:
    """The hash of a random password: what an unknown name is checked against, so that it
    takes as long as a known one."""
    return _HASHER.hash(secrets.token_urlsafe(16))
