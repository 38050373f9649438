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
    """A secret is set nowhere we look."""


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
            "'Grant access' in the prompt (or switch on 'Notebook access' under the key icon).") from None
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
            f"paste the value of {name}, then run the cell again.")
    if no_access:
        raise MissingSecretError(
            f"secret {name} is in Colab Secrets but this notebook has no access to it: open the key icon in the "
            f"left bar and switch on 'Notebook access' for {name}, then run the cell again.")
    where = [
        f"in Colab: the key icon in the left bar > Add new secret > name {name}, and allow notebook access",
        f"elsewhere: export {name}=...",
    ]
    if name in PRAW_KEYS:
        files = " or ".join(str(p) for p in praw_ini_files())
        where.append(f"or in praw.ini ({files}): `{PRAW_KEYS[name]} = ...` under [{PRAW_SITE}]")
    raise MissingSecretError(f"secret {name} is not set. Set it " + "; ".join(where) + ".")


def forget_secrets() -> None:
    """Drop looked-up secrets (after changing where they are set)."""
    get_secret.cache_clear()
