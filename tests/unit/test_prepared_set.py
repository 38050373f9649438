"""The prepared set is replaced as one, and 02-05 can tell which run of 01 made the files they read."""
import json
import os

import pytest

import helpers
from helpers.core import exchange, manifest
from helpers.sources import prepare
from helpers.core.paths import Paths
from test_pull_sample import pull_pairs

SUBREDDITS = ["cooking", "buildapc"]


def write_run(root, months, **about):
    pairs, report = pull_pairs("sample", root, SUBREDDITS, months)
    tables = prepare.prepared_tables(prepare.clean_pairs(pairs)[0])
    prepare.write_prepared(tables, Paths(root), {"source": "sample", "months": months, **about})
    return manifest.read(Paths(root))


def test_readers_learn_which_run_wrote_the_files_and_summaries_say_it(drive):
    written = write_run(drive, ["2019-01"])
    assert written["complete"] and set(written["files"]) == set(manifest.PREPARED)
    assert written["files"]["bert_real"]["rows"] == len(exchange.read_table(Paths(drive), "bert_real"))
    ctx = helpers.setup("05_bert_upvotes")
    ctx.configure("tiny")
    summary = ctx.write_summary()
    assert summary["prepared_set"]["bert_real"]["run_id"] == written["run_id"]
    assert summary["prepared_set"]["bert_real"]["source"] == "sample"
    again = write_run(drive, ["2019-02"])  # a second run: a new id
    exchange.read_table(Paths(drive), "bert_real")
    assert again["run_id"] != written["run_id"] and manifest.seen()["bert_real"]["run_id"] == again["run_id"]


def test_a_file_from_another_run_is_an_error_naming_what_to_do(tmp_path):
    write_run(tmp_path / "a", ["2019-01"])
    write_run(tmp_path / "b", ["2019-02"])
    other = (tmp_path / "b" / "prepared" / "gpt2_generate.csv").read_bytes()
    (tmp_path / "a" / "prepared" / "gpt2_generate.csv").write_bytes(other)  # copied in by hand
    exchange.read_table(Paths(tmp_path / "a"), "bert_real")  # the others are fine
    with pytest.raises(exchange.ExchangeError, match=r"gpt2_generate.csv is not the file .* Rerun 01_pull_data"):
        exchange.read_table(Paths(tmp_path / "a"), "gpt2_generate")


def test_a_crash_between_the_renames_is_seen_by_readers(tmp_path, monkeypatch):
    write_run(tmp_path, ["2019-01"])
    real_replace, renames = os.replace, []

    def replace(src, dst):
        renames.append(dst)
        if len(renames) >= 3:  # the "being replaced" manifest and one prepared file are in place, then the process
            raise KeyboardInterrupt  # dies: nothing more is renamed (no putting back either)
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        write_run(tmp_path, ["2019-02"])
    monkeypatch.setattr(os, "replace", real_replace)
    for key in manifest.PREPARED:
        with pytest.raises(exchange.ExchangeError, match="stopped while replacing the prepared files"):
            exchange.read_table(Paths(tmp_path), key)
    write_run(tmp_path, ["2019-02"])  # rerunning 01 mends it
    assert all(len(exchange.read_table(Paths(tmp_path), key)) for key in manifest.PREPARED)
    assert not [p for p in (tmp_path / "prepared").iterdir() if p.name.startswith(".")]  # no temp files left


def test_files_without_a_manifest_still_read_and_say_so(tmp_path):
    write_run(tmp_path, ["2019-01"])
    (tmp_path / "prepared" / "manifest.json").unlink()
    assert len(exchange.read_table(Paths(tmp_path), "bert_real")) > 10
    assert manifest.seen()["bert_real"]["run_id"] is None


def test_manifest_records_what_01_was_asked(tmp_path):
    written = write_run(tmp_path, ["2019-01"], subreddits=SUBREDDITS, top_level_only=True)
    on_disk = json.loads((tmp_path / "prepared" / "manifest.json").read_text())
    assert on_disk == written and on_disk["top_level_only"] is True and on_disk["subreddits"] == SUBREDDITS


def test_a_failed_rename_puts_the_previous_set_back(tmp_path, monkeypatch):
    # a Drive folder can refuse a rename (quota, a sync conflict): the run fails, the previous set stays usable
    before = write_run(tmp_path, ["2019-01"])
    old = {key: (tmp_path / "prepared" / f"{key}.csv").read_bytes() for key in manifest.PREPARED}
    real_replace, renames = os.replace, []

    def replace(src, dst):
        renames.append(dst)
        if str(dst).endswith("bert_real.csv") and not str(src).endswith(".previous"):
            raise OSError(5, "Input/output error")  # the last prepared file cannot be put in place
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError, match="Input/output"):
        write_run(tmp_path, ["2019-02"])
    monkeypatch.setattr(os, "replace", real_replace)
    assert manifest.read(Paths(tmp_path)) == before
    for key in manifest.PREPARED:
        assert (tmp_path / "prepared" / f"{key}.csv").read_bytes() == old[key]
        assert len(exchange.read_table(Paths(tmp_path), key))
    assert not [p for p in (tmp_path / "prepared").iterdir() if p.name.startswith(".")]
