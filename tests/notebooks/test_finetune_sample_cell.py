"""Notebook 02's last table, a few replies of the fine-tuned model: when none of the sampled
replies ends (a model trained for few steps), the cell says why the table is empty."""
import ast
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pandas as pd
import pytest

from helpers.core import notebooks
from helpers.gpt2.engine import Reply

CELL = next(c.source for c in nbformat.read(notebooks.NOTEBOOK_DIR / "02_finetune_gpt2.ipynb", as_version=4).cells
            if "ReplyEngine(" in c.source)


def run_cell(monkeypatch, replies_per_comment):
    """The cell, with an engine that returns `replies_per_comment` replies to each comment; its table."""
    class Engine:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def generate(self, comments, n):
            return [[Reply(f"reply {i}", 3) for i in range(replies_per_comment)] for _ in comments]

    monkeypatch.setitem(sys.modules, "helpers.gpt2.engine", types.SimpleNamespace(ReplyEngine=Engine))
    names = dict(pd=pd, run_dir=Path("/nowhere/models/gpt2/run1"), valid_texts=["a comment [SEP] a reply"] * 3,
                 settings=SimpleNamespace(seed=1), sampling=SimpleNamespace(max_reply_tokens=40))
    tree = ast.parse(CELL)  # as IPython runs a cell: the statements, then the last expression's value
    last = ast.Expression(tree.body.pop().value)
    exec(compile(tree, "02", "exec"), names)
    return eval(compile(last, "02", "eval"), names)


def test_an_empty_sample_table_is_explained(monkeypatch, capsys):
    table = run_cell(monkeypatch, 0)
    out = capsys.readouterr().out
    assert len(table) == 0
    assert "None of the 6 sampled replies ended" in out and "40 tokens" in out and "STEPS" in out


@pytest.mark.parametrize("replies", [1, 2])
def test_replies_that_ended_are_shown_without_a_message(monkeypatch, capsys, replies):
    table = run_cell(monkeypatch, replies)
    assert len(table) == 3 * replies and list(table.columns) == ["comment", "reply", "tokens"]
    assert "None of" not in capsys.readouterr().out
