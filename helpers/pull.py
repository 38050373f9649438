"""Notebook 01's sources: the bundled sample, your BigQuery tables, or Reddit dump files.

Each gives comment/reply pairs in `pairs.PAIR_COLUMNS` plus a report of what happened.
"""
from __future__ import annotations

import re

from .pairs import join_pairs
from .paths import Paths

SOURCES = ("sample", "bigquery", "dumps")


def pull(source: str, paths: Paths, subreddits, months, *, comments_table: str = "", posts_table: str = "",
         project: str = "", max_bytes: int = 0, progress: bool = True, dumps_folder=None, bigquery_client=None):
    """Pairs from `source` for `subreddits` and `months` ('YYYY-MM'); returns (pairs, report).

    `dumps` reads `dumps_folder` (default: raw/ on Drive); `bigquery` uses `bigquery_client`
    (default: one from your credentials, see bigquery_source.make_client)."""
    if source not in SOURCES:
        raise ValueError(f"unknown SOURCE {source!r}; choose one of: {', '.join(SOURCES)}")
    if not subreddits:
        raise ValueError("SUBREDDITS is empty: name at least one subreddit")
    bad = [m for m in months or () if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", str(m))]
    if bad:
        raise ValueError(f"MONTHS must hold months as 'YYYY-MM' (e.g. '2019-01'), got {', '.join(map(repr, bad))}")
    report = {"source": source, "failed_months": []}
    if source == "sample":
        from . import sample_data

        pairs = join_pairs(sample_data.load_submissions(), sample_data.load_comments(), subreddits)
        if months:
            pairs = pairs[pairs["month"].isin(months)].reset_index(drop=True)
    elif source == "dumps":
        from . import dumps

        submissions, comments, drops = dumps.read_dumps(dumps_folder or paths.file("dumps"), subreddits, months or None, progress=progress)
        pairs = join_pairs(submissions, comments, subreddits)
        report["reader_drops"] = dict(drops)
    else:
        from . import bigquery_source

        client = bigquery_client or bigquery_source.make_client(project or None)
        pairs, bq_report = bigquery_source.pull_bigquery(
            client, comments_table, posts_table, months, subreddits, max_bytes, progress=progress)
        report.update(bq_report)
    return pairs, report
