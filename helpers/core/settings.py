"""The run-wide settings: the named profile and what every stage shares (seed, GPU, subreddits).

Stage settings live in their stage's config (`helpers.core.config`): pulling in
`helpers.sources.pull.PullConfig`, fine-tuning in `helpers.gpt2.finetune.FinetuneConfig`, sampling in
`helpers.gpt2.sampling_config`, BERT training and scoring in `helpers.bert.config`, comments to answer in
`helpers.live.comments_config`, posting in `helpers.live.posting_config`, feedback in
`helpers.live.feedback.config`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from helpers.core import runtime
from helpers.core.config import PROFILE_NAMES, ConfigError, StageConfig, setting
from helpers.core.reddit_terms import check_subreddits

SUBREDDITS = "cooking, buildapc, CasualConversation, personalfinance"  # 01 learns from them, 06 answers in them
BERT_BASE = "https://tfhub.dev/tensorflow/bert_en_uncased_L-12_H-768_A-12/4"

SettingsError = ConfigError  # an unknown profile or parameter, or a value of the wrong type


def subreddit_names(value) -> tuple[str, ...]:
    """SUBREDDITS as typed ("a, b" or a list): checked names, each once whatever its case, in the
    order given (' r/cooking ' is 'cooking'); an empty list or a number is a ConfigError saying what to type."""
    if isinstance(value, (list, tuple)) and not [s for s in value if str(s).strip()]:
        raise ConfigError(f"SUBREDDITS = {value!r} names no subreddit: type names in quotes, e.g. SUBREDDITS = "
                          f"\"cooking, buildapc\", or None for the profile's list")
    if not isinstance(value, (str, list, tuple)):
        raise ConfigError(f"SUBREDDITS must be names in quotes, e.g. \"cooking, buildapc\"; got {value!r}")
    firsts: dict[str, str] = {}
    try:
        names = check_subreddits(value)
    except ValueError as error:
        raise ConfigError(f"SUBREDDITS: {error}") from None
    for name in names:
        firsts.setdefault(name.lower(), name)
    if not firsts:
        raise ConfigError("SUBREDDITS names no subreddit: type names in quotes, e.g. SUBREDDITS = \"cooking, buildapc\"")
    return tuple(firsts.values())


@dataclass(frozen=True)
class Settings(StageConfig):
    """One run's shared settings; `make_settings` builds them from a profile and the notebook's parameters."""

    profile: str = setting("colab (GPU, real models) or tiny (CPU, small local models)", colab="colab", tiny="tiny")
    seed: int = setting("one seed for sampling, splits and initialisation", default=0)
    expects_gpu: bool = setting("warn when the runtime has no GPU", colab=True, tiny=False)
    subreddits: str = setting("01 and 06: comma-separated subreddits the models learn from and answer in",
                              default=SUBREDDITS)
    top_level_only: bool = setting("01 and 06: a pair's comment answers the post itself (the original's rule)",
                                   default=True)

    @classmethod
    def for_profile(cls, profile: str, **overrides):
        """The profile's values with `overrides` by field name (profile, seed, expects_gpu, subreddits,
        top_level_only; any other name is a ConfigError listing these); None, or SUBREDDITS left ""
        (a Colab text field left empty), is the profile's value. Typed subreddits are checked and
        tidied (see `subreddit_names`) into one comma-separated string."""
        given = dict(overrides)
        if isinstance(given.get("subreddits"), str) and not given["subreddits"].strip():
            given["subreddits"] = None
        if given.get("subreddits") is not None:
            given["subreddits"] = ", ".join(subreddit_names(given["subreddits"]))
        return super().for_profile(profile, **given)


# Each profile's values by name (read-only view; the values themselves are declared above).
PROFILES: dict[str, dict] = {name: Settings.for_profile(name).as_dict() for name in PROFILE_NAMES}


def resolve_profile(profile: str | None = None) -> str:
    """The notebook's PROFILE if set, else $BOT_PROFILE, else "colab" on Colab and "tiny" elsewhere."""
    name = profile or os.environ.get("BOT_PROFILE") or ("colab" if runtime.in_colab() else "tiny")
    if name not in PROFILE_NAMES:
        raise SettingsError(f"unknown profile {name!r}; choose one of: {', '.join(PROFILE_NAMES)}")
    return name


def make_settings(profile: str | None = None, **params) -> Settings:
    """Settings for `profile` (see resolve_profile) with `params` overriding its values, by field name
    (seed, expects_gpu, subreddits, top_level_only; another name is a ConfigError listing them).

    A parameter given as None keeps the profile's value, so notebooks can pass every parameter
    they have and leave the ones a person did not set as None.
    """
    if "profile" in params:
        raise SettingsError("the profile is the first argument, not a parameter")
    name = resolve_profile(profile)
    return Settings.for_profile(name, **params)


def as_dict(settings: Settings) -> dict:
    return settings.as_dict()
