import json
import os

import pandas as pd
import pytest

from helpers.core.exchange import ExchangeError, read_table, write_table
from helpers.core.files import atomic_path, write_json
from helpers.core.paths import Paths


def real_rows(n=3):
    return pd.DataFrame({
        "submission_id": [f"s{i}" for i in range(n)], "comment_id": [f"c{i}" for i in range(n)],
        "subreddit": "cooking", "comment": "a comment", "reply": ["yes", "no, 😀", "x,y\n\"z\""][:n],
        "real": 1, "reply_score": [0, 3, 7][:n], "rating": [0, 2, 3][:n], "extra": "kept",
    }).astype({"reply_score": object})


def test_round_trip_keeps_types_text_and_extra_columns(tmp_path):
    paths = Paths(tmp_path)
    path = write_table(real_rows(), paths, "bert_real")
    assert path == tmp_path / "prepared/bert_real.csv"
    back = read_table(paths, "bert_real")
    assert back["reply"].tolist() == ["yes", "no, 😀", "x,y\n\"z\""]
    assert back["reply_score"].dtype == "int64" and back["extra"].tolist() == ["kept"] * 3
    assert list(tmp_path.glob("prepared/.*")) == []  # no temp files left


def test_missing_file_names_it_and_its_producer(tmp_path):
    with pytest.raises(ExchangeError, match=r"prepared/bert_fake.csv not found .* written by 03_generate_fakes: run that notebook first"):
        read_table(Paths(tmp_path), "bert_fake")


def test_missing_column_is_named(tmp_path):
    paths = Paths(tmp_path)
    (tmp_path / "prepared").mkdir()
    real_rows().drop(columns=["rating"]).to_csv(tmp_path / "prepared/bert_real.csv", index=False)
    with pytest.raises(ExchangeError, match=r"bert_real.csv is missing column\(s\) rating .* written by 01_pull_data"):
        read_table(paths, "bert_real")


def test_bad_value_is_named_with_its_row(tmp_path):
    paths = Paths(tmp_path)
    (tmp_path / "prepared").mkdir()
    rows = real_rows()
    rows.loc[1, "reply_score"] = "lots"
    rows.to_csv(tmp_path / "prepared/bert_real.csv", index=False)
    with pytest.raises(ExchangeError, match=r"column reply_score must hold int values, row 1 has 'lots'"):
        read_table(paths, "bert_real")


@pytest.mark.parametrize("content,what", [(b"", "not a readable CSV"), (b"\xff\xfe\x00bad", "not a readable CSV"),
                                          (b'a,b\n"unclosed,2\n', "not a readable CSV|missing column")])
def test_malformed_file(tmp_path, content, what):
    (tmp_path / "prepared").mkdir()
    (tmp_path / "prepared/bert_real.csv").write_bytes(content)
    with pytest.raises(ExchangeError, match=what):
        read_table(Paths(tmp_path), "bert_real")


def test_empty_table_is_an_error_unless_allowed(tmp_path):
    paths = Paths(tmp_path)
    write_table(real_rows(0), paths, "bert_real")
    with pytest.raises(ExchangeError, match="has no rows"):
        read_table(paths, "bert_real")
    assert read_table(paths, "bert_real", allow_empty=True).empty


def test_write_refuses_a_table_without_its_columns(tmp_path):
    with pytest.raises(ExchangeError, match="missing column"):
        write_table(real_rows().drop(columns=["real"]), Paths(tmp_path), "bert_real")
    assert not (tmp_path / "prepared/bert_real.csv").exists()


def test_crash_while_writing_keeps_the_old_file(tmp_path):
    target = tmp_path / "f.json"
    write_json(target, {"v": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half a fi")
            raise RuntimeError("crash")
    assert json.loads(target.read_text()) == {"v": 1}
    assert os.listdir(tmp_path) == ["f.json"]
