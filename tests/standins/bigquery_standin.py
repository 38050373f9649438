"""A stand-in for the BigQuery REST API on 127.0.0.1, for the real google-cloud-bigquery client.

    with BigQueryStandIn({"proj.reddit_comments.2019_01": comments_df, ...}) as bq:
        client = bq.client()            # bigquery.Client(AnonymousCredentials, api_endpoint=bq.url)

It answers what `client.query(sql, job_config).result()` calls: `POST /projects/<p>/jobs` (jobs.insert;
dry runs answer with the bytes the query would scan), `GET /projects/<p>/queries/<job>` (getQueryResults,
with paging by `maxResults`/`pageToken`), `GET /projects/<p>/jobs/<job>` and `GET .../datasets/<d>/tables/<t>` (the schema). The SQL is BigQuery's; it is
transpiled with sqlglot and executed by DuckDB over the small tables given. Bytes a query scans are
the size of the tables it names (their rows as JSON), so a test can set a cap above or below them;
`maximumBytesBilled` is enforced like BigQuery does. `executed` lists the queries that really ran.
"""
from __future__ import annotations

import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

import duckdb
import pandas as pd
import sqlglot
from sqlglot import exp

from local_server import LocalServer

PAGE_SIZE = 100  # rows per page when the client does not ask for fewer
TYPES = {"BIGINT": "INTEGER", "INTEGER": "INTEGER", "HUGEINT": "INTEGER", "DOUBLE": "FLOAT", "FLOAT": "FLOAT",
         "BOOLEAN": "BOOLEAN", "VARCHAR": "STRING"}


class BigQueryStandIn(LocalServer):
    def __init__(self, tables: dict[str, pd.DataFrame], project: str = "test-project"):
        self.project = project
        self.db = duckdb.connect()
        self.lock = threading.Lock()
        self.tables: dict[str, tuple[str, int]] = {}  # BigQuery name -> (DuckDB name, bytes)
        for i, (name, df) in enumerate(tables.items()):
            local = f"t{i}"
            self.db.register(f"{local}_df", df)
            self.db.execute(f"CREATE TABLE {local} AS SELECT * FROM {local}_df")
            self.db.unregister(f"{local}_df")
            self.tables[name.lower()] = (local, len(df.to_json(orient="records").encode()))
        self.jobs: dict[str, dict] = {}
        self.executed: list[str] = []  # BigQuery SQL of the queries that ran (not dry runs)
        self.requests: list[str] = []  # "METHOD path" of every request
        super().__init__(_handler(self))

    def __exit__(self, *exc):
        super().__exit__(*exc)
        self.db.close()

    def client(self):
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        return bigquery.Client(project=self.project, credentials=AnonymousCredentials(),
                               client_options=ClientOptions(api_endpoint=self.url))

    # -- SQL ------------------------------------------------------------------------------------------
    def translate(self, sql: str) -> tuple[str, int]:
        """(DuckDB SQL, bytes scanned) for BigQuery SQL; KeyError naming a table that does not exist."""
        tree = sqlglot.parse_one(sql, read="bigquery")
        scanned, seen = 0, set()
        for table in tree.find_all(exp.Table):
            name = ".".join(part for part in (table.catalog, table.db, table.name) if part).lower()
            if name not in self.tables:
                raise KeyError(name)
            local, size = self.tables[name]
            if name not in seen:
                scanned += size
                seen.add(name)
            table.set("catalog", None)
            table.set("db", None)
            table.set("this", exp.to_identifier(local))
        return tree.sql(dialect="duckdb"), scanned

    def insert_job(self, body: dict) -> tuple[int, dict]:
        config = body.get("configuration", {})
        query = config.get("query", {})
        sql = query.get("query", "")
        ref = dict(body.get("jobReference") or {}, projectId=self.project)
        ref.setdefault("jobId", uuid.uuid4().hex)
        ref.setdefault("location", "US")
        try:
            duck_sql, scanned = self.translate(sql)
        except KeyError as missing:
            return _error(404, "notFound", f"Not found: Table {missing.args[0]} was not found in location US")
        except sqlglot.errors.ParseError as error:
            return _error(400, "invalidQuery", f"Syntax error: {error}")
        stats = {"totalBytesProcessed": str(scanned), "query": {"totalBytesProcessed": str(scanned),
                                                               "totalBytesBilled": "0" if config.get("dryRun") else str(scanned)}}
        job = {"kind": "bigquery#job", "id": f"{self.project}:US.{ref['jobId']}", "jobReference": ref,
               "configuration": config, "status": {"state": "DONE"}, "statistics": stats}
        if config.get("dryRun"):
            return 200, job
        cap = query.get("maximumBytesBilled")
        if cap is not None and scanned > int(cap):
            return _error(400, "bytesBilledLimitExceeded",
                          f"Query exceeded limit for bytes billed: {cap}. {scanned} or higher required.")
        with self.lock:
            try:
                result = self.db.execute(duck_sql)
                columns = [(d[0], str(d[1])) for d in result.description]
                rows = result.fetchall()
            except duckdb.Error as error:
                return _error(400, "invalidQuery", f"{type(error).__name__}: {error}")
            self.executed.append(sql)
        schema = {"fields": [{"name": name, "type": TYPES.get(kind.upper(), "STRING"), "mode": "NULLABLE"}
                             for name, kind in columns]}
        self.jobs[ref["jobId"]] = {"job": job, "schema": schema, "rows": rows}
        return 200, job

    def get_table(self, project: str, dataset: str, table: str) -> tuple[int, dict]:
        """tables.get: the table's schema (column names and types), as `client.get_table` reads it."""
        name = f"{project}.{dataset}.{table}"
        if name.lower() not in self.tables:
            return _error(404, "notFound", f"Not found: Table {name}")
        local, size = self.tables[name.lower()]
        with self.lock:
            described = self.db.execute(f"DESCRIBE {local}").fetchall()
            rows = self.db.execute(f"SELECT COUNT(*) FROM {local}").fetchone()[0]
        fields = [{"name": col, "type": TYPES.get(str(kind).upper(), "STRING"), "mode": "NULLABLE"}
                  for col, kind, *_ in described]
        return 200, {"kind": "bigquery#table", "id": f"{project}:{dataset}.{table}", "type": "TABLE",
                     "tableReference": {"projectId": project, "datasetId": dataset, "tableId": table},
                     "schema": {"fields": fields}, "numRows": str(rows), "numBytes": str(size)}

    def query_results(self, job_id: str, params: dict) -> tuple[int, dict]:
        if job_id not in self.jobs:
            return _error(404, "notFound", f"Not found: Job {self.project}:US.{job_id}")
        stored = self.jobs[job_id]
        start = int(params.get("pageToken", ["0"])[0] or 0)
        size = min(int(params.get("maxResults", [PAGE_SIZE])[0]), PAGE_SIZE)
        page = stored["rows"][start:start + size]
        body = {"kind": "bigquery#getQueryResultsResponse", "jobReference": stored["job"]["jobReference"],
                "jobComplete": True, "schema": stored["schema"], "totalRows": str(len(stored["rows"])),
                "totalBytesProcessed": stored["job"]["statistics"]["totalBytesProcessed"], "cacheHit": False}
        if page:  # like BigQuery, no "rows" key on an empty page (the client reads maxResults=0 so)
            body["rows"] = [{"f": [{"v": _cell(v)} for v in row]} for row in page]
        if start + size < len(stored["rows"]) and size > 0:
            body["pageToken"] = str(start + size)
        return 200, body


def _cell(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _error(status: int, reason: str, message: str) -> tuple[int, dict]:
    return status, {"error": {"code": status, "message": message, "status": reason,
                              "errors": [{"reason": reason, "message": message, "domain": "global"}]}}


def _handler(standin: BigQueryStandIn):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _send(self, status: int, body: dict):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            try:
                self._post()
            except Exception as error:  # a bug here must fail the test, not make the client retry for minutes
                self._send(*_error(400, "invalid", f"stand-in could not handle the request: {error!r}"))

        def do_GET(self):
            try:
                self._get()
            except Exception as error:
                self._send(*_error(400, "invalid", f"stand-in could not handle the request: {error!r}"))

        def _post(self):
            url = urlparse(self.path)
            standin.requests.append(f"POST {url.path}")
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if re.fullmatch(r"(/bigquery/v2)?/projects/[^/]+/jobs", url.path):
                return self._send(*standin.insert_job(body))
            self._send(*_error(404, "notFound", f"no such endpoint: POST {url.path}"))

        def _get(self):
            url = urlparse(self.path)
            standin.requests.append(f"GET {url.path}")
            params = parse_qs(url.query)
            if m := re.fullmatch(r"(?:/bigquery/v2)?/projects/[^/]+/queries/([^/]+)", url.path):
                return self._send(*standin.query_results(m.group(1), params))
            if m := re.fullmatch(r"(?:/bigquery/v2)?/projects/([^/]+)/datasets/([^/]+)/tables/([^/]+)", url.path):
                return self._send(*standin.get_table(*m.groups()))
            if m := re.fullmatch(r"(?:/bigquery/v2)?/projects/[^/]+/jobs/([^/]+)", url.path):
                job = standin.jobs.get(m.group(1))
                return self._send(*(200, job["job"]) if job else _error(404, "notFound", "Not found: Job"))
            self._send(*_error(404, "notFound", f"no such endpoint: GET {url.path}"))

    return Handler
