import json

import pytest

import helpers


def test_setup_then_summary(drive):
    ctx = helpers.setup("01_pull_data")
    assert ctx.paths.root == drive.resolve()
    settings = ctx.configure("tiny", seed=7)
    with ctx.timer("step"):
        ctx.counts["rows"] = 12
    ctx.metrics["auc"] = 0.5
    ctx.write_summary(extra_field=[1, 2])
    summary = json.loads((drive / "runs/01_pull_data/summary.json").read_text())
    assert summary["counts"] == {"rows": 12} and summary["metrics"] == {"auc": 0.5}
    assert summary["timings"]["step"] >= 0 and summary["extra_field"] == [1, 2]
    assert summary["settings"]["seed"] == 7 == settings.seed
    assert summary["packages"]["pandas"] and summary["python"].startswith("3.")


def test_notebook_parameters_are_read_in_one_call_and_every_value_used_is_in_the_summary(drive):
    """As a notebook does: SEED and the stage's TOP_K come from its globals, None keeps the profile's."""
    from helpers.gpt2.sampling_config import SamplingConfig

    ctx = helpers.setup("03_generate_fakes")
    namespace = {"PROFILE": "", "SEED": 5, "TOP_K": 7, "MAX_REPLY_TOKENS": None, "RUN_NAME": "run1"}
    settings = ctx.configure("tiny", namespace)
    sampling = ctx.use(SamplingConfig.from_notebook(namespace, settings.profile))
    assert (settings.profile, settings.seed, sampling.top_k, sampling.max_reply_tokens) == ("tiny", 5, 7, 64)
    table = ctx.settings_table()
    assert {"seed", "top_k", "fake_comments"} <= set(table["setting"]) and table["what it is"].str.len().min() > 0
    summary = ctx.write_summary()
    assert summary["settings"]["seed"] == 5 and summary["settings"]["top_k"] == 7
    assert summary["settings"]["candidates_per_comment"] == 4 and summary["settings"]["profile"] == "tiny"


def test_a_config_used_twice_keeps_the_last_and_a_clash_is_an_error(drive):
    from helpers.bert.config import ScoringConfig, TrainingConfig

    ctx = helpers.setup("07_score_review_post")
    ctx.configure("tiny")
    ctx.use(ScoringConfig.for_profile("tiny"))
    ctx.use(ScoringConfig.for_profile("tiny", min_prob_real=0.0))
    assert ctx.values()["min_prob_real"] == 0.0 and len(ctx.configs) == 1
    with pytest.raises(ValueError, match="batch_size differently"):
        ctx.use(TrainingConfig.for_profile("tiny", batch_size=99))


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


def test_summary_values_may_not_replace_what_the_context_writes(drive):
    ctx = helpers.setup("01_pull_data")
    ctx.configure("tiny")
    ctx.counts["rows"] = 3
    with pytest.raises(ValueError, match=r"counts is written by the context itself.*taken: notebook, started"):
        ctx.write_summary(counts={"rows": 0}, source="sample")
    assert not (drive / "runs/01_pull_data/summary.json").exists()


def test_configure_names_the_settings_it_takes(drive):
    from helpers.core.config import ConfigError

    with pytest.raises(ConfigError, match=r"no setting 'subreddit' \(did you mean 'subreddits'\?\)"):
        helpers.setup("01_pull_data").configure("tiny", subreddit="cooking")
