"""Notebook 01's sources: the bundled sample, Arctic Shift's archive API, your BigQuery tables, or
Reddit dump files; and `PullConfig`, the one frozen config of the pull stage.

Each source gives comment/reply pairs in `pairs.PAIR_COLUMNS` plus a report of what happened. The
inputs are checked when the config (and the run's Settings, which hold SUBREDDITS) is made, with messages that say what to type (a month typed
without quotes, an empty list, a month not over yet); names and months are tidied (' r/cooking ' is
'cooking'; a month listed twice is pulled once). Each comment, reply and post keeps one version
(`pairs.dedupe_versions`); 0 pairs, or every month failed, is a NoPairsError that says what to
change (nothing is written then).
"""
from __future__ import annotations

import calendar
import os
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from helpers.core.config import ConfigError, StageConfig, setting
from helpers.core.paths import Paths
from helpers.core.settings import Settings, subreddit_names
from helpers.sources.pairs import NoPairsError, dedupe_versions, join_pairs

SOURCES = ("sample", "arctic_shift", "bigquery", "dumps")
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def now() -> float:
    """The time (a function, so tests can move it)."""
    return time.time()


def _month_start(month: str) -> int:
    year, mon = map(int, month.split("-"))
    return calendar.timegm((year, mon, 1, 0, 0, 0))


def check_months(months) -> list[str]:
    """The months as 'YYYY-MM', each once, in the order given; a month not begun yet is an error."""
    if isinstance(months, bool) or isinstance(months, (int, float)):
        raise ConfigError(
            f"MONTHS is the number {months!r}, not a month: a month typed without quotes, like 2019-12, is read as "
            f"a subtraction (2019 minus 12). Type months in quotes: MONTHS = \"2019-12\", or several: "
            f"MONTHS = \"2019-01, 2019-02\"")
    if isinstance(months, str):
        months = months.split(",")
    numbers = [m for m in months or () if isinstance(m, (int, float)) and not isinstance(m, bool)]
    if numbers:
        raise ConfigError(f"MONTHS holds the number {numbers[0]!r}: type each month in quotes, e.g. "
                          f"MONTHS = [\"2019-01\", \"2019-02\"]")
    months = [str(m).strip() for m in months or () if str(m).strip()]
    bad = [m for m in months if not MONTH.fullmatch(m)]
    if bad:
        raise ConfigError(f"MONTHS must hold months as 'YYYY-MM' in quotes (e.g. \"2019-01\"), got {', '.join(map(repr, bad))}")
    today = datetime.fromtimestamp(now(), timezone.utc)
    future = [m for m in months if _month_start(m) > now()]
    if future:
        raise ConfigError(f"MONTHS: {', '.join(future)} {'is' if len(future) == 1 else 'are'} in the future (today is "
                          f"{today:%Y-%m-%d} UTC): Reddit has nothing from then yet. Choose months that are over, "
                          f"e.g. \"{today.year - 1}-{today.month:02d}\"")
    return list(dict.fromkeys(months))


@dataclass(frozen=True)
class PullConfig(StageConfig):
    """Notebook 01's settings; the notebook's parameter of each is its name in capitals.

    SUBREDDITS and TOP_LEVEL_ONLY are run-wide settings (`helpers.core.settings.Settings`, shared
    with notebook 06): `pull` reads them from there."""

    source: str = setting('"sample", "arctic_shift" (no account), "bigquery" (your tables) or "dumps" (raw/ on Drive)',
                          colab="arctic_shift", tiny="sample")
    months: tuple = setting("months to pull, 'YYYY-MM'", default=("2019-01", "2019-02", "2019-03"))
    max_items_per_month: int = setting("arctic_shift: posts and comments kept per subreddit and month at most (0 = all)",
                                       colab=10_000, tiny=2_000)
    arctic_shift_url: str = setting('arctic_shift: the API ("" = $ARCTIC_SHIFT_URL, else the public one)', default="")
    arctic_seconds_per_request: float = setting("arctic_shift: at most one request per this many seconds", default=1.0)
    comments_table: str = setting("bigquery: your comments table, {ym} = 2019_01 (required for bigquery)", default="")
    posts_table: str = setting("bigquery: your posts table, {ym} = 2019_01 (required for bigquery)", default="")
    bigquery_project: str = setting('bigquery: the Google Cloud project billed ("" = your credentials\' default)', default="")
    dumps_folder: str = setting('dumps: folder of the dump files ("" = raw/ on Drive)', default="")
    max_bytes_per_month: int = setting("bigquery: stop before a month's query would scan more bytes", default=50_000_000_000)
    max_chars: int = setting("drop pairs whose comment or reply is longer than this", default=2000)
    rating_edges: tuple = setting("reply-score bin edges: < 1, 1, 2-4, >= 5 (as the original)", default=(1, 2, 5))

    @classmethod
    def for_profile(cls, profile: str, **overrides):
        """The profile's values with `overrides` by field name (another name is a ConfigError listing
        the fields); "" (a Colab text field left empty) or None = the profile's value."""
        given = dict(overrides)
        if isinstance(given.get("dumps_folder"), os.PathLike):
            given["dumps_folder"] = os.fspath(given["dumps_folder"])
        for name in ("source", "months"):
            if isinstance(given.get(name), str) and not given[name].strip():
                given[name] = None
        for name in ("comments_table", "posts_table"):
            if isinstance(given.get(name), str):
                given[name] = given[name].strip()
        if given.get("months") is not None:
            given["months"] = tuple(check_months(given["months"]))
        return super().for_profile(profile, **given)

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ConfigError(f"unknown SOURCE {self.source!r}; choose one of: {', '.join(SOURCES)}")
        if self.source == "arctic_shift" and not self.months:
            raise ConfigError("MONTHS is empty: the arctic_shift source fetches one month at a time, e.g. \"2019-01\"")
        if self.max_items_per_month < 0:
            raise ConfigError("MAX_ITEMS_PER_MONTH must be 0 (all) or more")
        if self.source == "bigquery":
            _check_tables(self.comments_table, self.posts_table)


def _check_tables(comments_table: str, posts_table: str) -> None:
    """ConfigError naming the empty BigQuery table parameters and exactly what to type in them."""
    missing = [name for name, table in (("COMMENTS_TABLE", comments_table), ("POSTS_TABLE", posts_table))
               if not str(table or "").strip()]
    if missing:
        raise ConfigError(
            f'SOURCE="bigquery" needs {" and ".join(missing)}: tables you can read (the public fh-bigquery ones answer '
            f'"Access Denied"). Type, with your project and dataset: COMMENTS_TABLE = "your-project.reddit.comments_{{ym}}" '
            f'and POSTS_TABLE = "your-project.reddit.posts_{{ym}}" ({{ym}} becomes 2019_01; leave it out for one table '
            f'holding every month), or choose another SOURCE, e.g. "arctic_shift" (no account needed)')


def pull(paths: Paths, config: PullConfig, settings: Settings, *, progress: bool = True, bigquery_client=None,
         arctic_api=None):
    """Pairs from `config.source` for the run's subreddits (`settings.subreddits`, with its
    `top_level_only` rule) and the config's months; returns (pairs, report).

    `bigquery_client`: default, one from your credentials (see bigquery.make_client); `arctic_api`:
    default, an arctic_shift.ArcticShift at `config.arctic_shift_url`, paced by the config."""
    subreddits, months = list(subreddit_names(settings.subreddits)), check_months(config.months)
    source, top_level_only = config.source, settings.top_level_only
    report = {"source": source, "subreddits": subreddits, "months": months, "top_level_only": bool(top_level_only),
              "failed_months": []}
    if source == "sample":
        from helpers.sources import sample

        pairs = join_pairs(sample.load_submissions(), sample.load_comments(), sample.check_names(subreddits), top_level_only)
        if months:
            pairs = pairs[pairs["month"].isin(months)].reset_index(drop=True)
    elif source == "dumps":
        from helpers.sources import dumps

        submissions, comments, drops = dumps.read_dumps(config.dumps_folder or paths.file("dumps"), subreddits, months or None,
                                                        progress=progress)
        pairs = join_pairs(submissions, comments, subreddits, top_level_only)
        report["reader_drops"] = dict(drops)
    elif source == "arctic_shift":
        from helpers.sources import arctic_shift

        api = arctic_api or arctic_shift.ArcticShift(config.arctic_shift_url or None,
                                                     arctic_shift.Options(min_interval=config.arctic_seconds_per_request))
        submissions, comments, fetch_report = arctic_shift.fetch(
            api, paths.file("arctic_raw"), subreddits, months, max_items=config.max_items_per_month, progress=progress)
        pairs = join_pairs(submissions, comments, subreddits, top_level_only)
        report.update(fetch_report)
    else:
        from helpers.sources import bigquery

        client = bigquery_client or bigquery.make_client(config.bigquery_project or None)
        request = bigquery.BigQueryPull(config.comments_table, config.posts_table, tuple(months), tuple(subreddits),
                                        top_level_only=top_level_only, max_bytes=config.max_bytes_per_month)
        pairs, bq_report = bigquery.pull_bigquery(client, request, progress=progress)
        report.update(bq_report)
    pairs, report["duplicate_versions_dropped"] = dedupe_versions(pairs)
    _check_result(pairs, report)
    return pairs, report


def _check_result(pairs, report):
    """NoPairsError when every month failed or no pair came, naming what to change."""
    source, subreddits, months = report["source"], report["subreddits"], report["months"]
    failed = sorted({f["month"] for f in report["failed_months"]})
    if report.get("all_failed") or (source != "arctic_shift" and months and failed == sorted(months)):
        raise NoPairsError(
            f"every month failed ({', '.join(failed)}) on SOURCE={source!r}: see the errors printed above. "
            f"Fix what they name, or choose other MONTHS or another SOURCE; the prepared files already on Drive were kept.")
    if not len(pairs):
        rule = (" Comments must answer the post itself (TOP_LEVEL_ONLY=True); False takes replies at any depth."
                if report["top_level_only"] else "")
        failures = [(f"r/{f['subreddit']} " if f.get("subreddit") else "") + f["month"] for f in report["failed_months"]]
        if failures:
            rule += f" Also, these failed (see the errors printed above; a rerun retries them): {', '.join(failures)}."
        raise NoPairsError(
            f"0 pairs from SOURCE={source!r} for SUBREDDITS={subreddits} in MONTHS={months or 'all'}: check the names "
            f"and that these subreddits had self posts with replies in those months, or choose other MONTHS.{rule} "
            f"Nothing was written; the prepared files already on Drive were kept.")
