"""The run context a notebook gets from `helpers.setup()`: Drive paths, settings, summary."""
from __future__ import annotations

import contextlib
import platform
import time
from datetime import datetime, timezone
from importlib import metadata

from helpers.core import manifest, runtime
from helpers.core.exchange import write_json
from helpers.core.paths import NOTEBOOKS, Paths
from helpers.core.settings import Settings, as_dict, make_settings

# Packages whose versions go into every run summary.
PACKAGES = (
    "tensorflow", "tf-keras", "tensorflow-hub", "gpt-2-simple", "bert-tensorflow", "praw",
    "google-cloud-bigquery", "pandas", "numpy", "papermill",
)


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
        self.started = datetime.now(timezone.utc)
        self.counts: dict[str, int] = {}
        self.timings: dict[str, float] = {}
        self.metrics: dict[str, float] = {}

    def configure(self, profile: str | None = None, **params) -> Settings:
        """Build this run's settings from the profile and the notebook's parameters."""
        self.settings = make_settings(profile, **params)
        return self.settings

    @contextlib.contextmanager
    def timer(self, step: str):
        """Time a step; the seconds go into the summary's `timings`."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[step] = round(self.timings.get(step, 0.0) + time.perf_counter() - start, 3)

    def write_summary(self, **extra) -> dict:
        """Write runs/<notebook>/summary.json and return what was written."""
        summary = {
            "notebook": self.notebook,
            "started": self.started.isoformat(timespec="seconds"),
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "counts": self.counts,
            "timings": self.timings,
            "metrics": self.metrics,
            "settings": as_dict(self.settings) if self.settings else None,
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


def settings_table(settings: Settings):
    """The settings as a two-column table for display."""
    import pandas as pd

    return pd.DataFrame({"setting": list(as_dict(settings)), "value": [str(v) for v in as_dict(settings).values()]})
