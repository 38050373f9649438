import re

import pytest

from helpers.core import runtime
from helpers.core.paths import ENTRIES, LAYOUT, NOTEBOOKS, Paths, layout_table

ROW = re.compile(r"^\| `([^`]+)` \| ([^|]+) \| (.+) \|$")


def documented_rows():
    text = (runtime.REPO_ROOT / "drive_layout.md").read_text(encoding="utf-8")
    return [m.groups() for line in text.splitlines() if (m := ROW.match(line.strip()))]


def test_drive_layout_md_matches_paths_module():
    documented = [(path, producer.strip(), holds.strip()) for path, producer, holds in documented_rows()]
    in_code = [(e.pattern, e.producer, e.holds) for e in LAYOUT]
    assert documented == in_code


def test_every_producer_is_a_notebook_of_the_series_or_named():
    for e in LAYOUT:
        assert e.producer in NOTEBOOKS or e.producer in {"you", "runner", "every notebook"}, e


def test_readme_names_every_notebook():
    readme = (runtime.REPO_ROOT / "README.md").read_text(encoding="utf-8")
    for name in NOTEBOOKS:
        assert f"{name}.ipynb" in readme


def test_file_fills_placeholders(tmp_path):
    paths = Paths(tmp_path)
    assert paths.file("bert_real") == tmp_path / "prepared" / "bert_real.csv"
    assert paths.file("candidates", date="2026-11-22") == tmp_path / "runs/2026-11-22/candidates.csv"
    with pytest.raises(KeyError, match="needs date"):
        paths.file("candidates")
    with pytest.raises(KeyError, match="unknown drive entry 'bert_reel'"):
        paths.file("bert_reel")


def test_file_names_the_placeholders_it_takes_when_given_another(tmp_path):
    """`fields` are the entry's placeholders only: a misspelt or extra one is an error, never ignored."""
    paths = Paths(tmp_path)
    with pytest.raises(KeyError, match=r"has no placeholder day: it takes date"):
        paths.file("candidates", date="2026-11-22", day="22")
    with pytest.raises(KeyError, match=r"has no placeholder date: it takes no fields"):
        paths.file("bert_real", date="2026-11-22")


def test_layout_table_sees_present_files(tmp_path):
    paths = Paths(tmp_path)
    paths.file("gpt2_run", run="run1").mkdir(parents=True)
    table = layout_table(paths).set_index("entry")
    assert table.loc["gpt2_run", "present"] == 1
    assert table.loc["bert_real", "present"] == 0
    assert set(table.index) == set(ENTRIES)


def test_the_ledger_entry_is_the_folder_of_one_file_per_run(tmp_path):
    """LAYOUT's ledger is the folder (`ledger/`): each run appends to a file of its own there, and the
    folder is read as one ledger; lease and STOP sit beside the run files."""
    from helpers.live.ledger import Ledger, read_entries

    paths = Paths(tmp_path)
    folder = paths.file("ledger")
    assert ENTRIES["ledger"].pattern.endswith("/") and folder == tmp_path / "ledger"
    from datetime import datetime, timedelta, timezone
    ticks = iter(datetime(2030, 1, 10, 12, tzinfo=timezone.utc) + timedelta(seconds=i) for i in range(100))
    first, second = Ledger(folder, clock=ticks.__next__), Ledger(folder, clock=ticks.__next__)  # a second apart
    first.append("posting", "c1", submission_id="p1")
    second.append("posting", "c2", submission_id="p2")
    first.append("posted", "c1", submission_id="p1", reply_id="r1")
    assert first.own_path.parent == folder and second.own_path.parent == folder
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == 2 and all(re.fullmatch(r"posted-\d{8}T\d{6}-[^/]+-[0-9a-f]{6}\.jsonl", n) for n in names), names
    assert [(e["state"], e["key"]) for e in read_entries(folder)] == [("posting", "c1"), ("posting", "c2"), ("posted", "c1")]
    assert paths.file("lease").parent == folder and paths.file("stop").parent == folder
    assert layout_table(paths).set_index("entry").loc["ledger", "present"] == 1
