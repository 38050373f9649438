import pytest

from helpers.core import runtime
from helpers.core.settings import PROFILES, Settings, SettingsError, make_settings, resolve_profile


def test_profiles_define_every_setting():
    names = set(Settings.__dataclass_fields__) - {"profile"}
    for profile, values in PROFILES.items():
        assert set(values) == names, profile


def test_parameter_overrides_profile_and_none_keeps_default():
    s = make_settings("tiny", gpt2_steps=5, bert_epochs=None)
    assert (s.profile, s.gpt2_steps, s.bert_epochs) == ("tiny", 5, PROFILES["tiny"]["bert_epochs"])


def test_colab_profile_uses_real_models():
    s = make_settings("colab")
    assert s.gpt2_model in {"124M", "355M"} and s.bert_encoder.startswith("https://tfhub.dev/")


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
    with pytest.raises(SettingsError, match=r"unknown parameter 'gpt2_step' \(did you mean 'gpt2_steps'\?\)"):
        make_settings("tiny", gpt2_step=3)


@pytest.mark.parametrize("key,value", [("gpt2_steps", "10"), ("gpt2_steps", 1.5), ("gpt2_steps", True), ("expects_gpu", 1)])
def test_wrong_type_is_a_clear_error(key, value):
    with pytest.raises(SettingsError, match=f"parameter {key} must be"):
        make_settings("tiny", **{key: value})


def test_int_is_accepted_for_float():
    assert make_settings("tiny", gpt2_learning_rate=1).gpt2_learning_rate == 1.0


def test_settings_are_frozen():
    s = make_settings("tiny")
    with pytest.raises(AttributeError):
        s.gpt2_steps = 3
