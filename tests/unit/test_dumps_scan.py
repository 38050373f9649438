"""The dump reader's scan finds exactly the lines the subreddit regex finds, line by line.

The reader looks for `"subreddit":` + a wanted name over whole blocks of text at once; these tests hold
it to the plain rule (a line is parsed when `subreddit_pattern(...).search(line)` finds something)
on lines written to trip a faster scan: names in body text, case variants, spaces after the colon,
longer and shorter names, bytes that fold like a name's, lines longer than a block, lines cut at
every block boundary, a last line with no newline. Both decompressors (the `zstd` program and the
`zstandard` module) are checked.
"""
import json
import random
import shutil
from collections import Counter

import pytest

from helpers.sources import dumps
from test_dumps import write_zst

WANTED = ["cooking", "ask_science2", "tf", "reddit.com", "CasualConversation"]
VALUES = ["cooking", "Cooking", "COOKING", "cOoKiNg", "cook", "cookingx", "xcooking", "cooking ", " cooking",
          "ask_science2", "ASK_SCIENCE2", "ask\x7fscience2", "askscience2", "ask_science", "tf", "TF", "tF", "tfa",
          "t", "reddit.com", "Reddit.Com", "redditxcom", "reddit,com", "casualconversation", "CASUALCONVERSATION",
          "casualconversations", "gaming", "", None, 5, ["cooking"], {"name": "cooking"}]
KEYS = ['"subreddit":', '"subreddit": ', '"subreddit":\t', '"subreddit":  ', '"subreddit":\r ', '"Subreddit":',
        '"SUBREDDIT":', '"crosspost_subreddit":', '"subreddit_id":', '"subreddit_name_prefixed":']
BODIES = ["plain words", "I love cooking", "r/cooking and r/tf", 'she wrote "cooking" in quotes',
          'a line {"subreddit":"cooking"} pasted', '"subreddit": "tf"', "caf\u00e9 \u2603 cooking", "x" * 3000,
          "\\\"cooking\\\""]


def tricky_line(rng: random.Random, i: int) -> bytes:
    """One comment line, the subreddit field anywhere in it (or twice, or nested, or missing)."""
    fields = [f'"id":"c{i}"', '"link_id":"t3_s1"', '"parent_id":"t3_s1"', f'"author":"u{i}"',
              '"body":' + json.dumps(rng.choice(BODIES), ensure_ascii=rng.random() < 0.5), '"score":1',
              f'"created_utc":{1546300800 + i}']
    for _ in range(rng.choice([0, 1, 1, 1, 2])):
        fields.insert(rng.randrange(len(fields) + 1), rng.choice(KEYS) + json.dumps(rng.choice(VALUES)))
    if rng.random() < 0.1:  # a crosspost's parent names its own subreddit
        fields.insert(rng.randrange(len(fields) + 1), '"crosspost_parent_list":[{"subreddit":%s}]' % json.dumps(rng.choice(VALUES)))
    line = ("{" + ",".join(fields) + "}").encode()
    if rng.random() < 0.03:
        line = line[: rng.randrange(1, len(line))]  # cut short: malformed
    return line + b"\n"


def expected(lines, wanted, months, kind="comments"):
    """(rows, drops, lines parsed) by the plain rule: a line is parsed when the regex finds a match in it."""
    pattern = dumps.subreddit_pattern(wanted)
    lower = {s.lower() for s in wanted}
    ranges = dumps.month_ranges(months) if months else []
    rows, drops, parsed = [], Counter(), 0
    for line in lines:
        if not pattern.search(line) or not line.strip():
            continue
        parsed += 1
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError
        except ValueError:
            drops["malformed_json"] += 1
            continue
        if str(row.get("subreddit", "")).lower() not in lower:
            drops["other_subreddit"] += 1
            continue
        record = dumps.normalize_row(row, kind, drops)
        if record is None:
            continue
        if ranges and not any(lo <= record["created_utc"] < hi for lo, hi in ranges):
            drops["other_month"] += 1
            continue
        rows.append(record)
    drops["lines_read"] = sum(1 for line in lines if line.endswith(b"\n") or line.strip())
    return rows, drops, parsed


@pytest.fixture(params=["zstd program", "zstandard module"])
def decompressor(request, monkeypatch):
    if request.param == "zstd program" and not shutil.which("zstd"):
        pytest.fail("the zstd program is not installed (apt-get install zstd)")
    if request.param == "zstandard module":
        monkeypatch.setenv("BOT_DUMPS_ZSTD", "python")
        monkeypatch.setattr(dumps, "READ_SIZE", 1013)  # many small pieces
    return request.param


def read(path, wanted, months, monkeypatch):
    """read_file's rows and drops, and how many lines it parsed."""
    parsed = []
    real_loads = json.loads
    monkeypatch.setattr(dumps.json, "loads", lambda s: parsed.append(1) or real_loads(s))
    drops = Counter()
    rows = dumps.read_file(path, "comments", dumps.subreddit_pattern(wanted), {s.lower() for s in wanted}, months, drops)
    monkeypatch.setattr(dumps.json, "loads", real_loads)
    return rows, drops, len(parsed)


@pytest.mark.parametrize("block_size", [64, 1000, 4096, None])
def test_scan_parses_exactly_the_lines_the_regex_finds(tmp_path, monkeypatch, decompressor, block_size):
    rng = random.Random(block_size or 0)
    lines = [tricky_line(rng, i) for i in range(1500)]
    lines[-1] = lines[-1].rstrip(b"\n")  # the last line has no newline
    path = write_zst(tmp_path / "RC_2019-01.zst", lines, frames=3)
    if block_size:
        monkeypatch.setattr(dumps, "BLOCK_SIZE", block_size)  # lines cut at many block boundaries, some longer than a block
    want_rows, want_drops, want_parsed = expected(lines, WANTED, None)
    rows, drops, parsed = read(path, WANTED, None, monkeypatch)
    assert len(want_rows) > 100 and want_drops["other_subreddit"] > 20 and want_drops["malformed_json"] > 2
    assert rows == want_rows
    assert {k: v for k, v in drops.items() if v} == {k: v for k, v in want_drops.items() if v}
    assert parsed == want_parsed  # no line parsed that the regex would skip, none missed


def test_names_in_body_text_or_other_keys_are_never_parsed(tmp_path, monkeypatch, decompressor):
    def line(i, sub, body):
        return json.dumps({"id": f"c{i}", "link_id": "t3_s1", "parent_id": "t3_s1", "body": body,
                           "created_utc": 1546300800 + i, "subreddit": sub}, separators=(",", ":")) + "\n"

    lines = [line(0, "gaming", 'I posted {"subreddit":"cooking"} in r/cooking'),
             line(1, "gaming", '"cooking"'),
             '{"id":"c2","crosspost_subreddit":"cooking","subreddit_id":"cooking","subreddit":"gaming"}\n',
             '{"id":"c3","SUBREDDIT":"cooking","subreddit":"gaming"}\n',
             line(4, "cookingx", "cooking"),
             line(5, "COOKING", "kept: any case"),
             line(6, "CoOkInG", "kept too"),
             '{"id":"c7","link_id":"t3_s1","parent_id":"t3_s1","created_utc":1546300807,"subreddit": "Cooking"}\n']
    path = write_zst(tmp_path / "RC_2019-01.zst", lines)
    rows, drops, parsed = read(path, ["cooking"], None, monkeypatch)
    assert [r["id"] for r in rows] == ["c5", "c6", "c7"]
    assert parsed == 3 and drops["lines_read"] == len(lines)


def test_a_line_longer_than_a_block_is_read_whole(tmp_path, monkeypatch, decompressor):
    monkeypatch.setattr(dumps, "BLOCK_SIZE", 256)
    long_body = "word " * 2000
    lines = [json.dumps({"id": f"c{i}", "link_id": "t3_s1", "parent_id": "t3_s1", "created_utc": 1546300800,
                         "body": long_body if i % 2 else "short", "subreddit": "cooking"}) + "\n" for i in range(20)]
    path = write_zst(tmp_path / "RC_2019-01.zst", lines)
    assert b"".join(dumps.iter_chunks(path)) == "".join(lines).encode()
    rows, drops, parsed = read(path, ["cooking"], None, monkeypatch)
    assert [r["id"] for r in rows] == [f"c{i}" for i in range(20)] and rows[1]["body"] == long_body
    assert drops["lines_read"] == 20 and parsed == 20


def test_many_subreddits_at_once(tmp_path, monkeypatch, decompressor):
    """Sixty names, some of them prefixes of others: each line is parsed when, and only when, it is wanted."""
    names = [f"sub{i}" for i in range(60)] + ["ab", "abc", "abcd"]
    rng = random.Random(1)
    lines = [json.dumps({"id": f"c{i}", "link_id": "t3_s1", "parent_id": "t3_s1", "created_utc": 1546300800 + i,
                         "subreddit": rng.choice(names + ["sub600", "abcde", "a", "sub", "Sub5", "ABC"])}) + "\n"
             for i in range(3000)]
    path = write_zst(tmp_path / "RC_2019-01.zst", lines)
    wanted = names[::2] + ["abc"]
    want_rows, want_drops, want_parsed = expected([line.encode() for line in lines], wanted, ["2019-01"])
    rows, drops, parsed = read(path, wanted, {"2019-01"}, monkeypatch)
    assert rows == want_rows and parsed == want_parsed and len(rows) > 500


def regex_lines(pattern, block, first, stop):
    """The lines the regex alone finds in block[first:stop] (the reader's scan before numpy)."""
    lines, last_end = [], -1
    for match in pattern.regex.finditer(block, first, stop):
        if match.start() < last_end:
            continue
        start = block.rfind(b"\n", first, match.start()) + 1 or first
        last_end = block.find(b"\n", match.end(), stop)
        lines.append(bytes(block[start:last_end]))
    return lines


@pytest.mark.parametrize("kind", [bytes, bytearray])
def test_lines_of_any_stretch_of_whole_lines_are_the_regexs(kind):
    """Any first line (every alignment of the block's 32-bit words), any last line, keys at a block's very end,
    a key whose whitespace crosses a line end, two keys back to back."""
    rng = random.Random(2)
    lines = [tricky_line(rng, i) for i in range(400)]
    lines += [b'{"id":"x1","subreddit":\n', b'"cooking"}\n', b'{"subreddit":"cooking""subreddit":"tf"}\n',
              b'{"subreddit":"tf"}\n', b'"subreddit":"TF"\n', b'"subreddit":\n', b'"tf"\n']
    block = kind(b"".join(lines))
    ends = [0] + [i + 1 for i, byte in enumerate(block) if byte == 10]
    pattern = dumps.subreddit_pattern(WANTED)
    for _ in range(300):
        first, stop = sorted(rng.sample(ends, 2))
        assert pattern.lines(block, first, stop) == regex_lines(pattern, block, first, stop), (first, stop)
    assert pattern.lines(block, 0, len(block)) == regex_lines(pattern, block, 0, len(block))
    assert sum(1 for _ in pattern.lines(block, 0, len(block))) > 100
