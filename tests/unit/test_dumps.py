import json
import warnings
from collections import Counter

import pandas as pd
import pytest
import zstandard

from helpers.core import reddit_terms
from helpers.sources import dumps, prepare, sample as sample_data
from helpers.sources.pairs import month_of
from helpers.core.paths import Paths
from test_pull_sample import pull_pairs

SUBREDDITS = ["cooking", "buildapc", "CasualConversation", "personalfinance"]
MONTHS = ["2019-01", "2019-02", "2019-03"]


def write_zst(path, lines, frames=1):
    """NDJSON lines into a zstd file whose frames declare a 2^31 window, as the real dumps."""
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=31)  # header says 2^31 like `zstd --long=31`
    raw = [line if isinstance(line, bytes) else line.encode() for line in lines]
    step = max(-(-len(raw) // frames), 1)
    with open(path, "wb") as f:
        for start in range(0, max(len(raw), 1), step):
            with zstandard.ZstdCompressor(compression_params=params).stream_writer(f, closefd=False) as w:
                w.write(b"".join(raw[start:start + step]))
    return path


def records(df):
    return [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in df.to_dict("records")]


def write_sample_as_dumps(folder, per_subreddit=()):
    """The bundled sample as monthly RC_/RS_ files, and per-subreddit files for `per_subreddit`."""
    folder.mkdir(parents=True, exist_ok=True)
    for df, prefix, kind in ((sample_data.load_submissions(), "RS", "submissions"),
                             (sample_data.load_comments(), "RC", "comments")):
        own = df["subreddit"].isin(per_subreddit)
        for sub in per_subreddit:
            rows = records(df[df["subreddit"] == sub])
            write_zst(folder / f"{sub}_{kind}.zst", [json.dumps(r) + "\n" for r in rows])
        month = month_of(df["created_utc"])
        for m in sorted(set(month)):
            rows = records(df[(month == m) & ~own])
            write_zst(folder / f"{prefix}_{m}.zst", [json.dumps(r, separators=(",", ":")) + "\n" for r in rows])
    return folder


def prepared_bytes(source, root, **kw):
    pairs, report = pull_pairs(source, root, SUBREDDITS, MONTHS, **kw)
    clean, _ = prepare.clean_pairs(pairs)
    prepare.write_prepared(prepare.prepared_tables(clean), Paths(root))
    return {name: (root / "prepared" / f"{name}.csv").read_bytes() for name in ("gpt2_finetune", "gpt2_generate", "bert_real")}, report


@pytest.mark.parametrize("per_subreddit", [(), ("cooking", "buildapc")])
def test_dumps_give_the_same_prepared_files_as_the_sample(tmp_path, per_subreddit):
    raw = write_sample_as_dumps(tmp_path / "raw", per_subreddit)
    from_dumps, report = prepared_bytes("dumps", tmp_path / "a", dumps_folder=raw)
    from_sample, _ = prepared_bytes("sample", tmp_path / "b")
    assert from_dumps == from_sample
    assert len(from_dumps["bert_real"].splitlines()) > 600
    drops = report["reader_drops"]
    assert drops["malformed_json"] == 0 and drops["lines_read"] > 2000
    if per_subreddit:  # per-subreddit files hold every month: the others are counted, not kept
        assert drops["other_month"] > 0


def test_files_really_use_a_2_31_window(tmp_path):
    path = write_zst(tmp_path / "RC_2019-01.zst", ['{"a":1}\n'])
    assert zstandard.get_frame_parameters(path.read_bytes()).window_size == 2**31
    with pytest.raises(zstandard.ZstdError, match="too much memory"):
        zstandard.ZstdDecompressor().decompressobj().decompress(path.read_bytes())
    assert b"".join(dumps.iter_chunks(path)) == b'{"a":1}\n'


def comment(i, sub="cooking", **over):
    row = dict(id=f"c{i}", link_id="t3_s1", parent_id="t3_s1", author=f"user{i}", body=f"body {i}", score=3,
               created_utc=1546300800 + i, subreddit=sub)
    row.update(over)
    return json.dumps(row, separators=(",", ":")) + "\n"


def test_quirks_are_counted_drops_or_fixed(tmp_path):
    lines = [
        comment(1),
        comment(2, created_utc="1546300900"),  # string timestamp: fixed
        comment(3, score=None),  # null score: kept, prepare drops it later
        comment(4, body="a &amp;amp; b &gt; c"),  # HTML-escaped: kept as is for prepare
        comment(5, sub="CasualConversation"),
        comment(6, sub="gaming"),  # not wanted: skipped before parsing
        '{"subreddit":"cooking","id":"c7","body":"cut off her\n',  # truncated line: malformed
        b'{"id":"c8","subreddit":"cooking","body":"\xff\xfe"}\n',  # invalid UTF-8: malformed
        '[{"subreddit":"cooking"}]\n',  # valid JSON, not an object: malformed
        '{"id":"c9","subreddit":"cooking","body":"x","created_utc":1546300800}\n',  # no link_id: missing field
        comment(10, sub="gaming", crosspost={"subreddit": "cooking"}),  # nested match: parsed, other subreddit
        comment(11, created_utc=1549000000),  # February: other month
        "\n",
        comment(12, body="[deleted]", author="[deleted]"),
        comment(13, crosspost={"subreddit": "cooking"}),  # two matches in one line: read once
    ]
    path = write_zst(tmp_path / "RC_2019-01.zst", lines)
    drops = Counter()
    rows = dumps.read_file(path, "comments", dumps.subreddit_pattern(["Cooking", "casualconversation"]),
                           {"cooking", "casualconversation"}, {"2019-01"}, drops)
    assert [r["id"] for r in rows] == ["c1", "c2", "c3", "c4", "c5", "c12", "c13"]
    assert rows[1]["created_utc"] == 1546300900 and rows[2]["score"] is None
    assert rows[3]["body"] == "a &amp;amp; b &gt; c"
    assert dict(drops) == {"malformed_json": 3, "missing_field": 1, "other_subreddit": 1, "other_month": 1,
                           "lines_read": len(lines)}


def test_only_lines_naming_a_wanted_subreddit_are_parsed(tmp_path, monkeypatch):
    lines = [comment(i, sub="cooking" if i % 10 == 0 else f"other{i}") for i in range(1000)]
    path = write_zst(tmp_path / "RC_2019-01.zst", lines, frames=3)
    calls = []
    real_loads = json.loads
    monkeypatch.setattr(dumps.json, "loads", lambda s: calls.append(1) or real_loads(s))
    monkeypatch.setattr(dumps, "READ_SIZE", 997)  # many small reads: lines cross chunk boundaries
    drops = Counter()
    rows = dumps.read_file(path, "comments", dumps.subreddit_pattern(["cooking"]), {"cooking"}, None, drops)
    assert [r["id"] for r in rows] == [f"c{i}" for i in range(0, 1000, 10)]
    assert len(calls) == 100 and drops["lines_read"] == 1000


def test_missing_month_file_is_a_clear_error(tmp_path):
    raw = write_sample_as_dumps(tmp_path / "raw")
    (raw / "RS_2019-02.zst").unlink()
    with pytest.raises(dumps.DumpError, match=r"missing dump file\(s\).*RS_2019-02\.zst.*MONTHS"):
        dumps.read_dumps(raw, SUBREDDITS, MONTHS, progress=False)
    with pytest.raises(dumps.DumpError, match="does not exist"):
        dumps.read_dumps(tmp_path / "nowhere", SUBREDDITS, MONTHS, progress=False)
    write_zst(raw / "cooking_comments.zst", [comment(1)])
    with pytest.raises(dumps.DumpError, match="cooking_comments.zst but not cooking_submissions.zst"):
        dumps.read_dumps(raw, SUBREDDITS, MONTHS, progress=False)


def test_empty_file_is_a_counted_drop_with_a_warning(tmp_path):
    raw = write_sample_as_dumps(tmp_path / "raw")
    (raw / "RC_2019-03.zst").write_bytes(b"")
    with pytest.warns(UserWarning, match="RC_2019-03.zst is empty"):
        subs, coms, drops = dumps.read_dumps(raw, SUBREDDITS, MONTHS, progress=False)
    assert drops["empty_files"] == 1
    assert set(month_of(coms["created_utc"])) == {"2019-01", "2019-02"} and len(subs) > 200


@pytest.mark.parametrize("damage", ["truncated", "not_zstd"])
def test_broken_file_is_an_error_and_leaves_no_output(tmp_path, damage):
    raw = write_sample_as_dumps(tmp_path / "raw")
    before, _ = prepared_bytes("sample", tmp_path / "drive")  # files of an earlier good run
    path = raw / "RC_2019-02.zst"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"RC dump, but plain text\n" * 50)
    with pytest.raises(dumps.DumpError, match="RC_2019-02.zst") as error:
        prepared_bytes("dumps", tmp_path / "drive", dumps_folder=raw)
    assert "download it again" in str(error.value)
    prepared = tmp_path / "drive" / "prepared"
    assert sorted(p.name for p in prepared.iterdir()) == sorted([f"{k}.csv" for k in before] + ["manifest.json"])  # no temp files
    assert {k: (prepared / f"{k}.csv").read_bytes() for k in before} == before


def test_subreddit_names_are_checked():
    with pytest.raises(ValueError, match="not a subreddit name"):
        dumps.subreddit_pattern(["cooking", 'x") OR 1=1 --'])
    assert reddit_terms.check_subreddits(["r/cooking"]) == ["cooking"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert dumps.subreddit_pattern(["Cooking"]).search(b'{"subreddit":"cooking"}')


def test_reader_thread_stops_when_the_caller_stops_early(tmp_path, monkeypatch):
    import threading

    monkeypatch.setenv("BOT_DUMPS_ZSTD", "python")  # the thread is the zstandard module's
    monkeypatch.setattr(dumps, "READ_SIZE", 256)
    path = write_zst(tmp_path / "RC_2019-01.zst", [comment(i) for i in range(5000)])
    blocks = dumps.iter_blocks(path)
    next(blocks)
    blocks.close()  # the background thread must end, not wait on a full queue
    assert not any(t.name == "dump-decompress" and t.is_alive() for t in threading.enumerate())
