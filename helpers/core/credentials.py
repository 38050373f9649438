"""Secrets: Colab Secrets, then environment variables, then praw.ini; looked up once, never shown.

A `Secret` prints as `Secret('NAME', '***')`; code that needs the value (the praw client)
calls `.reveal()`, and nothing else does.
"""
from __future__ import annotations

import configparser
import os
from functools import lru_cache
from pathlib import Path

from helpers.core import runtime

PRAW_SITE = "bot"  # the praw.ini section we read
# Our secret names, and the praw.ini key each one is under.
PRAW_KEYS = {
    "REDDIT_CLIENT_ID": "client_id",
    "REDDIT_CLIENT_SECRET": "client_secret",
    "REDDIT_USERNAME": "username",
    "REDDIT_PASSWORD": "password",
}


class MissingSecretError(LookupError):
    """One or more secrets are set nowhere we look (`names`: which)."""

    def __init__(self, message: str, names=()):
        super().__init__(message)
        self.names = list(names)


class _NotSet(MissingSecretError):
    """Set nowhere at all (rather than set but unreadable)."""


class Secret:
    """A value that never shows itself in reprs, f-strings, logs or notebook outputs."""

    __slots__ = ("name", "_value", "source")

    def __init__(self, name: str, value: str, source: str):
        self.name, self._value, self.source = name, value, source

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.name!r}, '***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self):
        raise TypeError("secrets are not pickled")


def praw_ini_files() -> list[Path]:
    """praw.ini files we read, first match wins: the Drive root's, then praw's own places."""
    config_home = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
    files = [Path.cwd() / "praw.ini", config_home / "praw.ini"]
    if runtime.in_colab() or os.environ.get("BOT_DRIVE_ROOT"):
        files.insert(0, runtime.drive_root() / "praw.ini")
    return files


class _NoNotebookAccess(Exception):
    """The secret is in Colab Secrets, but this notebook may not read it."""


class _NoAnswer(Exception):
    """Colab asked the person to grant this notebook access, and got no answer in time."""


def _from_colab(name: str) -> str | None:
    if not runtime.in_colab():
        return None
    from google.colab import userdata

    timeout = getattr(userdata, "TimeoutException", ())
    try:
        return userdata.get(name)
    except userdata.NotebookAccessError:
        raise _NoNotebookAccess(name) from None
    except userdata.SecretNotFoundError:
        return None
    except timeout:
        raise _NoAnswer(name) from None


def _from_praw_ini(name: str) -> tuple[str, Path] | None:
    key = PRAW_KEYS.get(name)
    if key is None:
        return None
    for path in praw_ini_files():
        if path.is_file():
            parser = configparser.ConfigParser(interpolation=None)
            parser.read(path)
            if parser.has_option(PRAW_SITE, key) and parser.get(PRAW_SITE, key).strip():
                return parser.get(PRAW_SITE, key).strip(), path
    return None


@lru_cache(maxsize=None)
def get_secret(name: str) -> Secret:
    """Look `name` up once: Colab Secrets, then the environment, then praw.ini ([bot] section)."""
    try:
        value, no_access = _from_colab(name), False
    except _NoNotebookAccess:
        value, no_access = None, True
    except _NoAnswer:
        raise MissingSecretError(
            f"Colab asked for access to secret {name} and got no answer in time: run the cell again and click "
            "'Grant access' in the prompt (or switch on 'Notebook access' under the key icon).", [name]) from None
    empty = value is not None and not value.strip()
    if value and not empty:
        return Secret(name, value, "Colab Secrets")
    if os.environ.get(name):
        return Secret(name, os.environ[name], "environment")
    found = _from_praw_ini(name)
    if found:
        return Secret(name, found[0], str(found[1]))
    if empty:
        raise MissingSecretError(
            f"secret {name} is in Colab Secrets but its value is empty: open the key icon in the left bar and "
            f"paste the value of {name}, then run the cell again.", [name])
    if no_access:
        raise MissingSecretError(
            f"secret {name} is in Colab Secrets but this notebook has no access to it: open the key icon in the "
            f"left bar and switch on 'Notebook access' for {name}, then run the cell again.", [name])
    raise _NotSet(unset_message([name]), [name])


def unset_message(names: list[str]) -> str:
    """Where to set secrets that are set nowhere, all in one sentence."""
    one = len(names) == 1
    head = f"secret {names[0]} is not set" if one else f"{len(names)} secrets are not set: {', '.join(names)}"
    where = [
        f"in Colab: the key icon in the left bar > Add new secret > name {names[0] if one else 'each of them'}, "
        "and allow notebook access",
        "elsewhere: " + " ".join(f"export {name}=..." for name in names),
    ]
    keys = [PRAW_KEYS[name] for name in names if name in PRAW_KEYS]
    if keys:
        files = " or ".join(str(p) for p in praw_ini_files())
        where.append(f"or in praw.ini ({files}): " + ", ".join(f"`{key} = ...`" for key in keys) + f" under [{PRAW_SITE}]")
    return f"{head}. Set {'it' if one else 'them'} " + "; ".join(where) + "."


def get_secrets(names) -> dict[str, Secret]:
    """Several secrets at once; when some are missing, one MissingSecretError that names every
    missing one and why, so a person sets them all in one round (not one per rerun)."""
    names, found, unset, other = list(names), {}, [], []
    for name in names:
        try:
            found[name] = get_secret(name)
        except _NotSet:
            unset.append(name)
        except MissingSecretError as error:
            other.append(error)
    if unset or other:
        lines = [str(error) for error in other] + ([unset_message(unset)] if unset else [])
        missing = [name for name in names if name not in found]
        raise MissingSecretError("\n".join(lines), missing)
    return found


def forget_secrets() -> None:
    """Drop looked-up secrets (after changing where they are set)."""
    get_secret.cache_clear()
