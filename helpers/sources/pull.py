"""Notebook 01's sources: the bundled sample, Arctic Shift's archive API, your BigQuery tables, or
Reddit dump files.

Each gives comment/reply pairs in `pairs.PAIR_COLUMNS` plus a report of what happened. Names and
months are tidied first (' r/cooking ' is 'cooking'; a month listed twice is pulled once); each
comment, reply and post keeps one version (`pairs.dedupe_versions`); 0 pairs, or every month
failed, is a NoPairsError that says what to change (nothing is written then).
"""
from __future__ import annotations

import re

from helpers.core.reddit_terms import check_subreddits
from helpers.sources.pairs import NoPairsError, dedupe_versions, join_pairs
from helpers.core.paths import Paths

SOURCES = ("sample", "arctic_shift", "bigquery", "dumps")


def check_months(months) -> list[str]:
    """The months as 'YYYY-MM', each once, in the order given."""
    if isinstance(months, str):
        months = months.split(",")
    months = [str(m).strip() for m in months or () if str(m).strip()]
    bad = [m for m in months if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", m)]
    if bad:
        raise ValueError(f"MONTHS must hold months as 'YYYY-MM' (e.g. '2019-01'), got {', '.join(map(repr, bad))}")
    return list(dict.fromkeys(months))


def pull(source: str, paths: Paths, subreddits, months, *, comments_table: str = "", posts_table: str = "",
         project: str = "", max_bytes: int = 0, progress: bool = True, dumps_folder=None, bigquery_client=None,
         top_level_only: bool = False, max_items: int = 0, arctic_url: str | None = None, arctic_options=None):
    """Pairs from `source` for `subreddits` and `months` ('YYYY-MM'); returns (pairs, report).

    `top_level_only`: the comment of a pair answers the post itself (the original's rule).
    `dumps` reads `dumps_folder` (default: raw/ on Drive); `bigquery` uses `bigquery_client`
    (default: one from your credentials, see bigquery.make_client); `arctic_shift` asks
    `arctic_url` (default: the public API), keeps its pages under raw/arctic_shift/ and fetches at
    most `max_items` posts and comments per subreddit and month (0 = no limit); `arctic_options`
    are passed to arctic_shift.ArcticShift (pace, tries, timeout)."""
    if source not in SOURCES:
        raise ValueError(f"unknown SOURCE {source!r}; choose one of: {', '.join(SOURCES)}")
    firsts: dict[str, str] = {}
    for name in check_subreddits(subreddits or []):
        firsts.setdefault(name.lower(), name)  # once each, whatever the case, in the order given
    subreddits = list(firsts.values())
    if not subreddits:
        raise ValueError("SUBREDDITS is empty: name at least one subreddit")
    months = check_months(months)
    report = {"source": source, "subreddits": subreddits, "months": months, "top_level_only": bool(top_level_only),
              "failed_months": []}
    if source == "sample":
        from helpers.sources import sample

        pairs = join_pairs(sample.load_submissions(), sample.load_comments(), subreddits, top_level_only)
        if months:
            pairs = pairs[pairs["month"].isin(months)].reset_index(drop=True)
    elif source == "dumps":
        from helpers.sources import dumps

        submissions, comments, drops = dumps.read_dumps(dumps_folder or paths.file("dumps"), subreddits, months or None, progress=progress)
        pairs = join_pairs(submissions, comments, subreddits, top_level_only)
        report["reader_drops"] = dict(drops)
    elif source == "arctic_shift":
        from helpers.sources import arctic_shift

        if not months:
            raise ValueError("MONTHS is empty: the arctic_shift source fetches one month at a time ('YYYY-MM')")
        api = arctic_shift.ArcticShift(arctic_url, **(arctic_options or {}))
        submissions, comments, fetch_report = arctic_shift.fetch(
            api, paths.file("arctic_raw"), subreddits, months, max_items=max_items, progress=progress)
        pairs = join_pairs(submissions, comments, subreddits, top_level_only)
        report.update(fetch_report)
    else:
        from helpers.sources import bigquery

        client = bigquery_client or bigquery.make_client(project or None)
        pairs, bq_report = bigquery.pull_bigquery(
            client, comments_table, posts_table, months, subreddits, max_bytes, progress=progress,
            top_level_only=top_level_only)
        report.update(bq_report)
    pairs, report["duplicate_versions_dropped"] = dedupe_versions(pairs)
    failed = sorted({f["month"] for f in report["failed_months"]})
    if report.get("all_failed") or (source != "arctic_shift" and months and failed == sorted(months)):
        raise NoPairsError(
            f"every month failed ({', '.join(failed)}) on SOURCE={source!r}: see the errors printed above. "
            f"Fix what they name, or choose other MONTHS or another SOURCE; the prepared files already on Drive were kept.")
    if not len(pairs):
        rule = " Comments must answer the post itself (TOP_LEVEL_ONLY=True); False takes replies at any depth." if top_level_only else ""
        failures = [(f"r/{f['subreddit']} " if f.get("subreddit") else "") + f["month"] for f in report["failed_months"]]
        if failures:
            rule += f" Also, these failed (see the errors printed above; a rerun retries them): {', '.join(failures)}."
        raise NoPairsError(
            f"0 pairs from SOURCE={source!r} for SUBREDDITS={subreddits} in MONTHS={months or 'all'}: check the names "
            f"and that these subreddits had self posts with replies in those months, or choose other MONTHS.{rule} "
            f"Nothing was written; the prepared files already on Drive were kept.")
    return pairs, report
