import json

import pytest

import helpers


def test_setup_then_summary(drive):
    ctx = helpers.setup("01_pull_data")
    assert ctx.paths.root == drive.resolve()
    settings = ctx.configure("tiny", gpt2_steps=7)
    with ctx.timer("step"):
        ctx.counts["rows"] = 12
    ctx.metrics["auc"] = 0.5
    ctx.write_summary(extra_field=[1, 2])
    summary = json.loads((drive / "runs/01_pull_data/summary.json").read_text())
    assert summary["counts"] == {"rows": 12} and summary["metrics"] == {"auc": 0.5}
    assert summary["timings"]["step"] >= 0 and summary["extra_field"] == [1, 2]
    assert summary["settings"]["gpt2_steps"] == 7 == settings.gpt2_steps
    assert summary["packages"]["pandas"] and summary["python"].startswith("3.")


def test_timer_records_even_when_the_step_fails(drive):
    ctx = helpers.setup("02_finetune_gpt2")
    with pytest.raises(ZeroDivisionError):
        with ctx.timer("boom"):
            1 / 0
    assert "boom" in ctx.timings


def test_unknown_notebook_is_an_error(drive):
    with pytest.raises(ValueError, match="unknown notebook '08_extra'"):
        helpers.setup("08_extra")


def test_importing_helpers_loads_no_tensorflow():
    import subprocess
    import sys

    code = "import helpers, sys; print('tensorflow' in sys.modules, 'gpt_2_simple' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
