"""One frozen config per stage: each setting's profile values, default and one-line doc in one place.

A stage config is a frozen dataclass whose fields are made with `setting()`:

    @dataclass(frozen=True)
    class FinetuneConfig(StageConfig):
        steps: int = setting("fine-tuning steps of the run", colab=1000, tiny=80)
        save_every: int = setting("copy the checkpoint to Drive every N steps", colab=500, tiny=40)

    cfg = FinetuneConfig.for_profile("colab", steps=None)       # None: the profile's value
    cfg = FinetuneConfig.from_notebook(globals(), "tiny")       # reads STEPS, SAVE_EVERY, ...

Notebook parameters are named like the fields, in capitals (`STEPS` for `steps`); a parameter left
as None takes the profile's value (the one convention for "use the profile's default").
"""
from __future__ import annotations

import dataclasses
import difflib
import typing
from dataclasses import dataclass, field, fields

NO_DEFAULT = object()
PROFILE_NAMES = ("colab", "tiny")  # the profiles a setting gives values for (see helpers.core.settings)


class ConfigError(ValueError):
    """An unknown setting, or a value of the wrong type; the message says what to type."""


def setting(doc: str, default=NO_DEFAULT, choices: tuple = (), **profiles):
    """A config field: `doc` (one line shown beside the value), the value for each profile by name
    (`colab=..., tiny=...`: names of PROFILE_NAMES only, another is a TypeError), `default` for
    profiles not named, and the only values it takes (`choices`), if it has such a list."""
    unknown = sorted(set(profiles) - set(PROFILE_NAMES))
    if unknown:
        raise TypeError(f"setting {doc!r}: no profile {', '.join(unknown)}; the profiles are {', '.join(PROFILE_NAMES)}")
    if default is NO_DEFAULT and not profiles:
        raise TypeError("a setting needs a default or a value per profile")
    first = default if default is not NO_DEFAULT else next(iter(profiles.values()))
    if isinstance(first, (list, dict, set)):
        raise TypeError("settings are frozen: use a tuple or a string, not a list, dict or set")
    return field(default=first, metadata={"doc": doc, "profiles": profiles, "default": default, "choices": tuple(choices)})


def _kind(hint):
    """The plain type a value must have for a field annotated `hint` (int, float, str, bool, tuple), or None."""
    origin = typing.get_origin(hint)
    if origin is typing.Union or str(origin) == "types.UnionType":
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return _kind(args[0]) if len(args) == 1 else None
    if origin is tuple:
        return tuple
    return hint if hint in (int, float, str, bool, tuple) else None


def check_value(name: str, value, hint):
    """`value` as a field annotated `hint` takes it (an int for a float; a list for a tuple), or ConfigError."""
    kind = _kind(hint)
    if kind is None or value is None:
        return value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is tuple and isinstance(value, list):
        return tuple(value)
    if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
        raise ConfigError(f"{name.upper()} must be {kind.__name__}, got {value!r}")
    return value


@dataclass(frozen=True)
class StageConfig:
    """Base of the stage configs: `for_profile`, `from_notebook`, `docs`, `table`."""

    @classmethod
    def profile_value(cls, name: str, profile: str):
        f = {f.name: f for f in fields(cls)}[name]
        profiles, default = f.metadata.get("profiles", {}), f.metadata.get("default", NO_DEFAULT)
        if profile in profiles:
            return profiles[profile]
        if default is NO_DEFAULT:
            raise ConfigError(f"{cls.__name__}.{name} has no value for profile {profile!r} (it has: {', '.join(profiles)})")
        return default

    @classmethod
    def for_profile(cls, profile: str, **overrides):
        """The profile's values, with `overrides` (by field name) where they are not None; a name that is
        not a field is a ConfigError listing the fields (and the nearest one)."""
        hints = typing.get_type_hints(cls)
        names = [f.name for f in fields(cls)]
        unknown = [k for k in overrides if k not in names]
        if unknown:
            near = difflib.get_close_matches(unknown[0], names, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ConfigError(f"{cls.__name__} has no setting {unknown[0]!r}{hint}; it has: {', '.join(names)}")
        values = {}
        for name in names:
            value = overrides.get(name)
            if value is None:
                value = cls.profile_value(name, profile)
            values[name] = check_value(name, value, hints[name])
            choices = {f.name: f for f in fields(cls)}[name].metadata.get("choices")
            if choices and values[name] not in choices:
                raise ConfigError(f"{name.upper()} must be one of {', '.join(map(repr, choices))} "
                                  f"(or None for the profile's value), got {values[name]!r}")
        return cls(**values)

    @classmethod
    def given(cls, namespace: dict) -> dict:
        """The values a notebook's parameters give (by field name): each field's name in capitals."""
        return {f.name: namespace[f.name.upper()] for f in fields(cls) if f.name.upper() in namespace}

    @classmethod
    def from_notebook(cls, namespace: dict, profile: str, **extra):
        """The config from a notebook's parameters: each field's name in capitals, None = the profile's value;
        `extra`, by field name, over them (checked as `for_profile` checks overrides)."""
        return cls.for_profile(profile, **{**cls.given(namespace), **extra})

    @classmethod
    def docs(cls) -> dict[str, str]:
        return {f.name: f.metadata.get("doc", "") for f in fields(cls)}

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def table(self):
        """The settings as a table (setting, value, what it is) for display."""
        import pandas as pd

        docs = self.docs()
        return pd.DataFrame({"setting": list(docs), "value": [str(getattr(self, k)) for k in docs],
                             "what it is": list(docs.values())})
