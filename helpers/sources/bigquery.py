"""BigQuery as a source: the original notebook's query, month by month, with a bytes cap.

Table names are templates with `{ym}` (e.g. `your-project.reddit.comments_{ym}`, `{ym}` = `2019_01`)
for one table per month as the original used, or a name without `{ym}`: one table for all months
(e.g. dumps loaded into your own dataset). Either way the query keeps each month by `created_utc`
(a month's dump, and so a table loaded from it, holds a few rows of the next month), as the
other sources do. Old posts without `is_self` are recognised as the dump reader does when the posts
table has `domain` and `url` columns (its schema is read first, for free).
Before anything runs, a dry run per month prints the bytes its query would scan; if one is over
the cap, nothing runs. The cap is also passed as `maximum_bytes_billed`. A month whose query fails
is reported with its error and listed in the report, never skipped silently.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import pandas as pd

from helpers.core.reddit_terms import check_subreddits
from helpers.sources.pairs import PAIR_COLUMNS

QUERY = """
SELECT
  s.subreddit AS subreddit,
  s.id AS submission_id, s.title AS submission_title, s.selftext AS submission_text,
  s.author AS submission_author, s.score AS submission_score,
  a.id AS comment_id, a.body AS comment, a.author AS comment_author, a.score AS comment_score,
  b.id AS reply_id, b.body AS reply, b.author AS reply_author, b.score AS reply_score,
  b.created_utc AS reply_created_utc
FROM `{comments}` AS a
JOIN `{comments}` AS b ON b.parent_id = CONCAT('t1_', a.id)
JOIN `{posts}` AS s ON a.link_id = CONCAT('t3_', s.id)
WHERE {self_post}
  AND LOWER(s.subreddit) IN ({subreddits})
  AND b.author != a.author
  AND b.author != s.author{top_level}{month_filter}
"""
TOP_LEVEL = "\n  AND a.parent_id = a.link_id"
MONTH_FILTER = "\n  AND FORMAT_TIMESTAMP('%Y-%m', TIMESTAMP_SECONDS(CAST({t}.created_utc AS INT64))) = '{month}'"
# A self post. Old submissions (before ~2010) have no `is_self`: as the dump reader does (dumps.is_self_post),
# one that links to itself (domain "self.<sub>", or a url to its own comments page) or has text is one.
# Used when the posts table has these columns (its schema is read first; free); else the plain `s.is_self`.
SELF_POST = ("COALESCE(s.is_self, STARTS_WITH(LOWER(IFNULL(s.domain, '')), 'self.')"
             " OR STRPOS(IFNULL(s.url, ''), CONCAT('/comments/', s.id)) > 0 OR IFNULL(s.selftext, '') != '')")
SELF_POST_PLAIN = "s.is_self"
SELF_POST_COLUMNS = {"is_self", "domain", "url", "selftext", "id"}


def has_columns(client, table: str, names) -> bool:
    """Whether `table` has all the columns `names` (False if its schema cannot be read)."""
    try:
        return set(names) <= {field.name.lower() for field in client.get_table(table).schema}
    except Exception:  # noqa: BLE001 - no permission or no such table: the query says so later
        return False


class BytesCapError(RuntimeError):
    """A month's query would scan more bytes than the cap allows; nothing was run."""


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1000


def table_name(template: str, month: str) -> str:
    """`template` with `{ym}` filled for month 'YYYY-MM' (as `YYYY_MM`)."""
    if not template or "`" in template:
        raise ValueError(f"table name {template!r} is empty or has a backtick; give project.dataset.table")
    return template.replace("{ym}", month.replace("-", "_"))


def month_query(comments_table: str, posts_table: str, month: str, subreddits, top_level_only: bool = False,
                infer_self: bool = True) -> str:
    """The original query for one month, with the subreddits (checked names) written in.
    `top_level_only`: the comment must answer the post (the original's rule). `infer_self`: a post
    without `is_self` (old ones) is a self post if it links to itself or has text (needs `domain`, `url`)."""
    names = ", ".join(f"'{s.lower()}'" for s in check_subreddits(subreddits))
    month_filter = "".join(MONTH_FILTER.format(t=t, month=month) for t in ("a", "b", "s"))
    return QUERY.format(comments=table_name(comments_table, month), posts=table_name(posts_table, month),
                        subreddits=names, month_filter=month_filter, self_post=SELF_POST if infer_self else SELF_POST_PLAIN,
                        top_level=TOP_LEVEL if top_level_only else "").strip()


def make_client(project: str | None = None):
    """A BigQuery client: your credentials (on Colab, after signing in), or a local stand-in/emulator
    when $BIGQUERY_EMULATOR_HOST is set (anonymous)."""
    from google.cloud import bigquery

    endpoint = os.environ.get("BIGQUERY_EMULATOR_HOST")
    if endpoint:
        from google.auth.credentials import AnonymousCredentials

        if not endpoint.startswith("http"):
            endpoint = f"http://{endpoint}"
        return bigquery.Client(project=project or "local", credentials=AnonymousCredentials(),
                               client_options={"api_endpoint": endpoint})
    from helpers.core import runtime

    if runtime.in_colab():
        from google.colab import auth  # asks once per runtime

        auth.authenticate_user()
    import google.auth
    import google.auth.exceptions

    project = (project or "").strip() or None
    try:
        credentials, found_project = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    except google.auth.exceptions.DefaultCredentialsError:
        raise RuntimeError(
            "no Google Cloud credentials for BigQuery: on Colab run the notebook again and allow access when "
            "asked; elsewhere run `gcloud auth application-default login`.") from None
    project = project or found_project or os.environ.get("GOOGLE_CLOUD_PROJECT")
    if not project:
        raise RuntimeError(
            "BIGQUERY_PROJECT is empty: set it in the parameters cell to the id of your Google Cloud project "
            "(the one billed for the queries; console.cloud.google.com > project picker). Your credentials were found.")
    return bigquery.Client(project=project, credentials=credentials)


@dataclass(frozen=True)
class BigQueryPull:
    """What one pull asks of BigQuery: the tables (templates, see `table_name`), the months and
    subreddits, whether a pair's comment must answer the post, and the bytes cap per month's query
    (0 = no cap: checked by a dry run before anything runs, and passed as `maximum_bytes_billed`)."""

    comments_table: str
    posts_table: str
    months: tuple
    subreddits: tuple
    top_level_only: bool = False
    max_bytes: int = 0


def pull_bigquery(client, request: BigQueryPull, progress: bool = True) -> tuple[pd.DataFrame, dict]:
    """Pairs (pairs.PAIR_COLUMNS) for each month of `request`, and a report: bytes per month, rows,
    failed months."""
    from google.cloud import bigquery
    from tqdm.auto import tqdm

    comments_table, posts_table, subreddits = request.comments_table, request.posts_table, request.subreddits
    months, max_bytes, top_level_only = request.months, request.max_bytes, request.top_level_only
    if not months:
        raise ValueError("MONTHS is empty: the bigquery source runs one query per month ('YYYY-MM')")
    months = list(dict.fromkeys(months))  # a month listed twice is queried (and billed) once
    report = {"bytes_by_month": {}, "rows_by_month": {}, "failed_months": []}
    infer = {}  # posts table -> has the columns to recognise old self posts without is_self
    for m in months:
        table = table_name(posts_table, m)
        if table not in infer:
            infer[table] = has_columns(client, table, SELF_POST_COLUMNS)
    queries = {m: month_query(comments_table, posts_table, m, subreddits, top_level_only,
                              infer_self=infer[table_name(posts_table, m)]) for m in months}
    report["old_self_posts_recognised"] = all(infer.values())

    def failed(month, error):
        message = f"{type(error).__name__}: {getattr(error, 'message', None) or error}"
        report["failed_months"].append({"month": month, "error": message})
        print(f"{month}: FAILED, {message}")

    for month in months:  # dry runs: free, and nothing runs if one is over the cap
        try:
            job = client.query(queries[month], job_config=bigquery.QueryJobConfig(dry_run=True, use_query_cache=False))
        except Exception as error:  # noqa: BLE001 - any API error fails this month, reported
            failed(month, error)
            continue
        scanned = int(job.total_bytes_processed or 0)
        report["bytes_by_month"][month] = scanned
        print(f"{month}: the query would scan {human_bytes(scanned)}")
    over = {m: b for m, b in report["bytes_by_month"].items() if max_bytes and b > max_bytes}
    if over:
        worst = ", ".join(f"{m} ({human_bytes(b)})" for m, b in over.items())
        raise BytesCapError(
            f"nothing was run: {worst} over the cap MAX_BYTES_PER_MONTH = {human_bytes(max_bytes)}. "
            f"Raise the cap if you accept the cost, or pull fewer months or smaller tables.")
    frames = []
    to_run = [m for m in months if m in report["bytes_by_month"]]
    for month in tqdm(to_run, desc="bigquery months", unit="month", disable=not progress):
        config = bigquery.QueryJobConfig()
        if max_bytes:  # (None would be sent as the string "None")
            config.maximum_bytes_billed = max_bytes
        try:
            rows = [dict(row.items()) for row in client.query(queries[month], job_config=config).result()]
        except Exception as error:  # noqa: BLE001
            failed(month, error)
            continue
        report["rows_by_month"][month] = len(rows)
        if rows:  # an empty month's frame (object columns) would change the others' types in concat
            frames.append(pd.DataFrame(rows, columns=[c for c in PAIR_COLUMNS if c != "month"]).assign(month=month))
    pairs = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(PAIR_COLUMNS))
    pairs = pairs[list(PAIR_COLUMNS)].sort_values(["month", "submission_id", "comment_id", "reply_id"])
    return pairs.reset_index(drop=True), report
