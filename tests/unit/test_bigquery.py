import pandas as pd
import pytest

from helpers.sources import bigquery as bigquery_source, prepare, sample as sample_data
from helpers.sources.pairs import month_of
from helpers.core.paths import Paths
from test_pull_sample import pull_pairs

from bigquery_standin import BigQueryStandIn

SUBREDDITS = ["cooking", "buildapc", "CasualConversation", "personalfinance"]
MONTHS = ["2019-01", "2019-02", "2019-03"]
COMMENTS, POSTS = "my-project.reddit_comments.{ym}", "my-project.reddit_posts.{ym}"


def sample_tables() -> dict[str, pd.DataFrame]:
    """The bundled sample as BigQuery would hold it: typed columns, one table per month and one for all."""
    tables = {}
    for df, name in ((sample_data.load_submissions(), "posts"), (sample_data.load_comments(), "comments")):
        df = df.assign(created_utc=pd.to_numeric(df["created_utc"]).astype("int64"), score=df["score"].astype("Int64"))
        month = month_of(df["created_utc"])
        for m in sorted(set(month)):
            tables[f"my-project.reddit_{name}.{m.replace('-', '_')}"] = df[month == m]
        tables[f"my-project.all_of_reddit.{name}"] = df
    return tables


@pytest.fixture(scope="module")
def standin():
    with BigQueryStandIn(sample_tables(), project="my-project") as server:
        yield server


def prepared_bytes(source, root, **kw):
    pairs, report = pull_pairs(source, root, SUBREDDITS, MONTHS, **kw)
    clean, _ = prepare.clean_pairs(pairs)
    prepare.write_prepared(prepare.prepared_tables(clean), Paths(root))
    return {n: (root / "prepared" / f"{n}.csv").read_bytes() for n in ("gpt2_finetune", "gpt2_generate", "bert_real")}, report


@pytest.mark.parametrize("tables", [(COMMENTS, POSTS), ("my-project.all_of_reddit.comments", "my-project.all_of_reddit.posts")],
                         ids=["table_per_month", "one_table"])
def test_bigquery_gives_the_same_prepared_files_as_the_sample(standin, tmp_path, tables, capsys):
    before = len(standin.requests)
    from_bq, report = prepared_bytes("bigquery", tmp_path / "a", comments_table=tables[0], posts_table=tables[1],
                                     max_bytes_per_month=10**7, bigquery_client=standin.client())
    from_sample, _ = prepared_bytes("sample", tmp_path / "b")
    assert from_bq == from_sample and len(from_bq["bert_real"].splitlines()) > 600
    assert report["failed_months"] == [] and set(report["rows_by_month"]) == set(MONTHS)
    assert all(b > 0 for b in report["bytes_by_month"].values())
    printed = capsys.readouterr().out
    assert all(f"{m}: the query would scan" in printed for m in MONTHS)
    requests = standin.requests[before:]
    assert requests.count("POST /bigquery/v2/projects/my-project/jobs") == 2 * len(MONTHS)  # dry run + run
    pages = [r for r in requests if "/queries/" in r]
    assert len(pages) > 2 * len(MONTHS)  # ~370 rows a month come in pages of 100


def test_bytes_cap_stops_before_running(standin, tmp_path):
    before_runs, before_jobs = len(standin.executed), len(standin.jobs)
    sizes = {m: sum(size for name, (_, size) in standin.tables.items() if name.endswith(m.replace("-", "_")))
             for m in MONTHS}
    cap = sorted(sizes.values())[1]  # between the smallest and the largest month
    over = [m for m in MONTHS if sizes[m] > cap]
    with pytest.raises(bigquery_source.BytesCapError, match=rf"nothing was run: {over[0]} \([\d.]+ KB\).*MAX_BYTES_PER_MONTH"):
        pull_pairs("bigquery", tmp_path, SUBREDDITS, MONTHS, comments_table=COMMENTS, posts_table=POSTS,
                   max_bytes_per_month=cap, bigquery_client=standin.client())
    assert len(standin.executed) == before_runs and len(standin.jobs) == before_jobs
    assert not (tmp_path / "prepared").exists()


def test_cap_is_passed_as_maximum_bytes_billed(standin):
    client = standin.client()
    request = bigquery_source.BigQueryPull(COMMENTS, POSTS, ("2019-02",), tuple(SUBREDDITS), max_bytes=10**6)
    pairs, report = bigquery_source.pull_bigquery(client, request, progress=False)
    job = list(standin.jobs.values())[-1]["job"]
    assert job["configuration"]["query"]["maximumBytesBilled"] == str(10**6) and len(pairs) > 300
    # BigQuery itself refuses a query over maximum_bytes_billed: that month fails, reported
    from google.cloud import bigquery

    config = bigquery.QueryJobConfig(maximum_bytes_billed=1000)
    with pytest.raises(Exception, match="bytesBilledLimitExceeded|exceeded limit for bytes billed"):
        client.query(bigquery_source.month_query(COMMENTS, POSTS, "2019-02", SUBREDDITS), job_config=config).result()


def test_failed_month_is_reported_and_listed(standin, tmp_path, capsys):
    pairs, report = pull_pairs("bigquery", tmp_path, SUBREDDITS, ["2019-02", "2019-07"], comments_table=COMMENTS,
                               posts_table=POSTS, max_bytes_per_month=10**7, bigquery_client=standin.client())
    assert [f["month"] for f in report["failed_months"]] == ["2019-07"]
    assert "NotFound" in report["failed_months"][0]["error"] and "reddit_comments.2019_07" in report["failed_months"][0]["error"]
    assert "2019-07: FAILED" in capsys.readouterr().out
    assert set(pairs["month"]) == {"2019-02"} and len(pairs) > 300


def test_client_from_environment_reaches_the_standin(standin, tmp_path, monkeypatch):
    monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", standin.url)
    pairs, report = pull_pairs("bigquery", tmp_path, SUBREDDITS, ["2019-03"], comments_table=COMMENTS,
                               posts_table=POSTS, bigquery_project="my-project")
    assert report["rows_by_month"]["2019-03"] - report["duplicate_versions_dropped"] == len(pairs) > 300


def test_query_is_the_original_and_names_are_checked():
    sql = bigquery_source.month_query(COMMENTS, POSTS, "2019-01", ["Cooking", "r/buildapc"])
    assert "`my-project.reddit_comments.2019_01` AS a" in sql and "`my-project.reddit_posts.2019_01` AS s" in sql
    assert "LOWER(s.subreddit) IN ('cooking', 'buildapc')" in sql and "s.is_self" in sql
    assert "b.author != a.author" in sql and "b.author != s.author" in sql and sql.count("= '2019-01'") == 3  # by created_utc, as the dumps
    one = bigquery_source.month_query("p.d.comments", "p.d.posts", "2019-01", ["cooking"])
    assert one.count("= '2019-01'") == 3
    with pytest.raises(ValueError, match="not a subreddit name"):
        bigquery_source.month_query(COMMENTS, POSTS, "2019-01", ["cooking'); DROP TABLE x; --"])
    with pytest.raises(ValueError, match="backtick"):
        bigquery_source.month_query("p.d.c` x", POSTS, "2019-01", ["cooking"])


def test_valid_credentials_without_a_project_name_the_project_setting(monkeypatch):
    """Signed in (credentials found) but BIGQUERY_PROJECT left empty: say so, not 'no credentials'."""
    import google.auth
    from google.auth.credentials import AnonymousCredentials

    from helpers.sources import bigquery as bigquery_source

    monkeypatch.delenv("BIGQUERY_EMULATOR_HOST", raising=False)
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    monkeypatch.setattr(google.auth, "default", lambda *a, **k: (AnonymousCredentials(), None))
    for empty in (None, "", "  "):
        with pytest.raises(RuntimeError) as err:
            bigquery_source.make_client(empty)
        assert "BIGQUERY_PROJECT" in str(err.value) and "no Google Cloud credentials" not in str(err.value)


def test_missing_credentials_say_how_to_sign_in(monkeypatch):
    import google.auth
    import google.auth.exceptions

    from helpers.sources import bigquery as bigquery_source

    def no_credentials(*a, **k):
        raise google.auth.exceptions.DefaultCredentialsError("Your default credentials were not found")

    monkeypatch.delenv("BIGQUERY_EMULATOR_HOST", raising=False)
    monkeypatch.setattr(google.auth, "default", no_credentials)
    with pytest.raises(RuntimeError, match="no Google Cloud credentials.*gcloud auth application-default login"):
        bigquery_source.make_client("my-project")


def test_a_month_without_rows_changes_nothing_of_the_others(standin, recwarn):
    """A month the tables hold nothing for adds no rows and changes no column's type, on pandas 2.2
    (Colab's, where concatenating its empty frame warned of a coming change) and 3.x alike."""
    client = standin.client()
    one = ("my-project.all_of_reddit.comments", "my-project.all_of_reddit.posts")
    alone, _ = bigquery_source.pull_bigquery(client, bigquery_source.BigQueryPull(*one, ("2019-02",), tuple(SUBREDDITS)),
                                             progress=False)
    with_empty, report = bigquery_source.pull_bigquery(
        client, bigquery_source.BigQueryPull(*one, ("2018-12", "2019-02"), tuple(SUBREDDITS)), progress=False)
    assert report["rows_by_month"]["2018-12"] == 0 and len(alone) > 300
    pd.testing.assert_frame_equal(with_empty, alone)
    assert not [w for w in recwarn if issubclass(w.category, FutureWarning)], [str(w.message) for w in recwarn]
