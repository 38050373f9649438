"""The run context a notebook gets from `helpers.setup()`: Drive paths, settings, summary.

    settings = ctx.configure(PROFILE, globals())                       # run-wide: SEED, SUBREDDITS, ...
    sampling = ctx.use(SamplingConfig.from_notebook(globals(), settings.profile))   # a stage's config
    ctx.settings_table()                                               # every value used, with its doc

Every value of the run settings and of each config `use`d goes into the summary's `settings`.
"""
from __future__ import annotations

import contextlib
import platform
import time
from datetime import datetime, timezone
from importlib import metadata

from helpers.core import manifest, runtime
from helpers.core.config import StageConfig
from helpers.core.files import write_json
from helpers.core.paths import NOTEBOOKS, Paths
from helpers.core.settings import Settings, as_dict, make_settings

# Packages whose versions go into every run summary.
PACKAGES = (
    "tensorflow", "tf-keras", "tensorflow-hub", "gpt-2-simple", "bert-tensorflow", "praw",
    "google-cloud-bigquery", "pandas", "numpy", "papermill",
)


# The summary's keys that the context writes itself (`write_summary`'s `extra` adds others).
RESERVED = ("notebook", "started", "finished", "counts", "timings", "metrics", "settings", "python", "packages",
            "prepared_set")


def package_versions() -> dict[str, str | None]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


class RunContext:
    """One notebook run: where files go, the settings used, and what the summary will say."""

    def __init__(self, notebook: str, root):
        self.notebook = notebook
        self.paths = Paths(root)
        self.settings: Settings | None = None
        self.configs: list[StageConfig] = []
        self.started = datetime.now(timezone.utc)
        self.counts: dict[str, int] = {}
        self.timings: dict[str, float] = {}
        self.metrics: dict[str, float] = {}

    def configure(self, profile: str | None = None, namespace: dict | None = None, **params) -> Settings:
        """This run's settings from the profile and the notebook's parameters: those in `namespace`
        (the notebook's `globals()`) named like a field in capitals, and `params` by field name
        (Settings' fields: seed, expects_gpu, subreddits, top_level_only; another name is a
        ConfigError listing them)."""
        given = {} if namespace is None else {k: v for k, v in Settings.given(namespace).items() if k != "profile"}
        self.settings = make_settings(profile, **{**given, **params})
        return self.settings

    def use(self, config: StageConfig) -> StageConfig:
        """Record a stage config of this run (its values go into the summary) and return it."""
        others = [c for c in self.configs if type(c) is not type(config)]
        clash = {k for c in [self.settings, *others] if c for k, v in c.as_dict().items() if getattr(config, k, v) != v}
        if clash:
            raise ValueError(f"{type(config).__name__} sets {', '.join(sorted(clash))} differently from a config "
                             "already used in this run")
        self.configs = [*others, config]
        return config

    def values(self) -> dict:
        """Every setting of this run: the run settings and the configs used."""
        out = as_dict(self.settings) if self.settings else {}
        for config in self.configs:
            out.update(config.as_dict())
        return out

    def settings_table(self):
        """The run's settings and configs as one table (setting, value, what it is) for display."""
        import pandas as pd

        parts = [c.table() for c in ([self.settings] if self.settings else []) + self.configs]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["setting", "value", "what it is"])

    @contextlib.contextmanager
    def timer(self, step: str):
        """Time a step; the seconds go into the summary's `timings`."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[step] = round(self.timings.get(step, 0.0) + time.perf_counter() - start, 3)

    def write_summary(self, **extra) -> dict:
        """Write runs/<notebook>/summary.json and return what was written. `extra`: the notebook's own
        values (JSON-able), each a top-level key of the summary beside those written here (RESERVED),
        which it may not replace (ValueError naming them)."""
        taken = sorted(set(extra) & set(RESERVED))
        if taken:
            raise ValueError(f"write_summary: {', '.join(taken)} {'is' if len(taken) == 1 else 'are'} written by the "
                             f"context itself; name the notebook's own values otherwise (taken: {', '.join(RESERVED)})")
        summary = {
            "notebook": self.notebook,
            "started": self.started.isoformat(timespec="seconds"),
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "counts": self.counts,
            "timings": self.timings,
            "metrics": self.metrics,
            "settings": self.values() if self.settings or self.configs else None,
            "python": platform.python_version(),
            "packages": package_versions(),
            **({"prepared_set": prepared} if (prepared := manifest.seen()) else {}),
            **extra,
        }
        write_json(self.paths.file("summary", notebook=self.notebook), summary)
        return summary

    def __repr__(self) -> str:
        profile = self.settings.profile if self.settings else "not configured yet"
        return f"RunContext({self.notebook!r}, root={str(self.paths.root)!r}, profile={profile!r})"


def setup(notebook: str) -> RunContext:
    """Mount Drive (once, Colab only) and return the run context of `notebook`."""
    if notebook not in NOTEBOOKS and notebook != "template":
        raise ValueError(f"unknown notebook {notebook!r}; the series is: {', '.join(NOTEBOOKS)}")
    return RunContext(notebook, runtime.drive_root())
