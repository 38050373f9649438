import dataclasses

import pytest

from helpers.bert.config import ScoringConfig, TrainingConfig
from helpers.core import runtime
from helpers.core.config import PROFILE_NAMES, ConfigError, StageConfig, setting
from helpers.core.settings import (
    PROFILES,
    Settings,
    SettingsError,
    make_settings,
    resolve_profile,
)
from helpers.gpt2.sampling_config import SamplingConfig
from helpers.gpt2.finetune import FinetuneConfig
from helpers.live.comments_config import CommentsConfig
from helpers.live.feedback.config import FeedbackConfig
from helpers.live.posting_config import PostingConfig
from helpers.sources.pull import PullConfig

CONFIGS = (Settings, PullConfig, FinetuneConfig, SamplingConfig, TrainingConfig, ScoringConfig, CommentsConfig,
           PostingConfig, FeedbackConfig)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.__name__)
def test_every_setting_has_a_doc_and_a_value_on_every_profile(config):
    for profile in PROFILE_NAMES:
        values = config.for_profile(profile).as_dict()
        assert set(values) == {f.name for f in dataclasses.fields(config)}
    docs = config.docs()
    assert all(docs.values()) and all("\n" not in doc and len(doc) < 120 for doc in docs.values()), docs


def test_a_setting_lives_in_one_config():
    """A field name in two configs would be read from one notebook parameter into both, and
    written twice into the summary: each setting has one home."""
    owners = {}
    for config in CONFIGS:
        for name in (f.name for f in dataclasses.fields(config)):
            owners.setdefault(name, []).append(config.__name__)
    shared = {k: v for k, v in owners.items() if len(v) > 1}
    # Names shared by configs that no notebook uses together (02; 04/05; 07 / 01; 06; 08). SUBREDDITS and
    # TOP_LEVEL_ONLY, which 01 and 06 share, live in Settings alone (pull reads them there).
    assert shared == {"batch_size": ["FinetuneConfig", "TrainingConfig", "ScoringConfig"],
                      "learning_rate": ["FinetuneConfig", "TrainingConfig"], "max_chars": ["PullConfig", "ScoringConfig"],
                      "source": ["PullConfig", "CommentsConfig", "FeedbackConfig"],
                      "rating_edges": ["PullConfig", "FeedbackConfig"]}


def test_stage_settings_left_settings():
    """What moved into the sampling, training and scoring configs is no longer a run-wide setting."""
    gone = {"bert_encoder", "bert_max_seq_length", "bert_batch_size", "bert_epochs", "bert_learning_rate",
            "fake_comments", "candidates_per_comment"}
    assert not gone & set(PROFILES["tiny"])


def test_profile_values_are_kept():
    """The values the profiles had before the configs (a rerun gives the same outputs)."""
    assert SamplingConfig.for_profile("colab").candidates_per_comment == 10
    assert SamplingConfig.for_profile("tiny").as_dict() == {
        "candidates_per_comment": 4, "max_reply_tokens": 64, "temperature": 0.7, "top_k": 40, "top_p": 0.0,
        "keep_unfinished": False, "fake_comments": 160}
    assert (TrainingConfig.for_profile("tiny").batch_size, TrainingConfig.for_profile("tiny").epochs) == (16, 5)
    assert ScoringConfig.for_profile("colab").as_dict() == {"min_prob_real": 0.9, "max_chars": 1000, "batch_size": 32}


def test_parameter_overrides_profile_and_none_keeps_default():
    s = make_settings("tiny", seed=None, expects_gpu=True)
    assert (s.profile, s.expects_gpu, s.seed) == ("tiny", True, PROFILES["tiny"]["seed"])
    assert FinetuneConfig.for_profile("tiny", steps=5, learning_rate=None).as_dict() == {
        **FinetuneConfig.for_profile("tiny").as_dict(), "steps": 5}


def test_from_notebook_reads_capitalised_parameters_and_none_means_the_profile():
    namespace = {"TOP_K": 3, "MAX_REPLY_TOKENS": None, "TEMPERATURE": 1, "UNRELATED": "x", "top_p": 0.5}
    cfg = SamplingConfig.from_notebook(namespace, "colab")
    assert (cfg.top_k, cfg.max_reply_tokens, cfg.temperature, cfg.top_p) == (3, 200, 1.0, 0.0)


def test_colab_profile_uses_real_models():
    assert FinetuneConfig.for_profile("colab").model_size in {"124M", "355M"}
    assert TrainingConfig.for_profile("colab").encoder.startswith("https://tfhub.dev/")


def test_profile_resolution_order(monkeypatch):
    monkeypatch.setenv("BOT_PROFILE", "colab")
    assert resolve_profile("tiny") == "tiny"  # the notebook parameter wins
    assert resolve_profile("") == "colab"  # then $BOT_PROFILE
    monkeypatch.delenv("BOT_PROFILE")
    assert resolve_profile(None) == "tiny"  # then the platform
    monkeypatch.setattr(runtime, "in_colab", lambda: True)
    assert resolve_profile(None) == "colab"


def test_unknown_profile_is_a_clear_error():
    with pytest.raises(SettingsError, match="unknown profile 'gpu'; choose one of: colab, tiny"):
        make_settings("gpu")


def test_unknown_parameter_suggests_the_near_one():
    with pytest.raises(SettingsError, match=r"no setting 'sed' \(did you mean 'seed'\?\)"):
        make_settings("tiny", sed=3)
    with pytest.raises(SettingsError, match=r"no setting 'max_reply_token' \(did you mean 'max_reply_tokens'\?\)"):
        SamplingConfig.for_profile("tiny", max_reply_token=3)


@pytest.mark.parametrize("key,value", [("seed", "10"), ("seed", 1.5), ("seed", True), ("expects_gpu", 1)])
def test_wrong_type_is_a_clear_error_naming_the_notebook_parameter(key, value):
    with pytest.raises(SettingsError, match=f"{key.upper()} must be"):
        make_settings("tiny", **{key: value})


def test_a_value_outside_the_choices_is_a_clear_error():
    with pytest.raises(SettingsError, match="SOURCE must be one of 'reddit', 'sample'"):
        CommentsConfig.for_profile("tiny", source="praw")


def test_int_is_accepted_for_float():
    assert FinetuneConfig.for_profile("tiny", learning_rate=1).learning_rate == 1.0
    assert TrainingConfig.for_profile("tiny", learning_rate=1).learning_rate == 1.0


def test_settings_are_frozen():
    s = make_settings("tiny")
    with pytest.raises(AttributeError):
        s.seed = 3
    assert isinstance(s, StageConfig)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.__name__)
def test_an_unknown_override_is_an_error_naming_the_settings_there_are(config):
    """`for_profile(**overrides)` and `from_notebook(..., **extra)` take field names only (no hidden options)."""
    names = [f.name for f in dataclasses.fields(config)]
    for make in (lambda: config.for_profile("tiny", no_such_setting=1),
                 lambda: config.from_notebook({}, "tiny", no_such_setting=1)):
        with pytest.raises(ConfigError) as error:
            make()
        assert "no setting 'no_such_setting'" in str(error.value) and all(n in str(error.value) for n in names)


def test_make_settings_names_what_it_takes():
    with pytest.raises(ConfigError, match=r"no setting 'sed' \(did you mean 'seed'\?\).*subreddits, top_level_only"):
        make_settings("tiny", sed=1)


def test_a_setting_gives_values_for_known_profiles_only():
    with pytest.raises(TypeError, match="no profile tny; the profiles are colab, tiny"):
        setting("a typo'd profile would silently never apply", colab=1, tny=2)
