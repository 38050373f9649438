"""The run-wide settings: the named profile and what every stage shares (seed, GPU, subreddits).

Stage settings live in their stage's config (`helpers.core.config`): sampling in
`helpers.gpt2.sampling_config`, BERT training and scoring in `helpers.bert.config`, and so on.
Fields marked "(moves to ...)" are still read here by notebooks of other stages until their
configs take them over.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from helpers.core import runtime
from helpers.core.config import ConfigError, StageConfig, setting

SUBREDDITS = "cooking, buildapc, CasualConversation, personalfinance"  # 01 learns from them, 06 answers in them
BERT_BASE = "https://tfhub.dev/tensorflow/bert_en_uncased_L-12_H-768_A-12/4"
PROFILE_NAMES = ("colab", "tiny")

SettingsError = ConfigError  # an unknown profile or parameter, or a value of the wrong type


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
    # (moves to the pull config)
    data_source: str = setting('01: "sample", "arctic_shift", "bigquery" or "dumps"', colab="arctic_shift", tiny="sample")
    arctic_max_items: int = setting("01, arctic_shift: posts and comments per subreddit and month at most (0: all)",
                                    colab=10_000, tiny=2_000)
    # (moves to the finetune config)
    gpt2_model: str = setting('base model: "124M"/"355M" (downloaded) or "tiny" (built locally); 355M does not '
                              "fit a T4 (see 02)", colab="124M", tiny="tiny")
    gpt2_steps: int = setting("02: fine-tuning steps", colab=1000, tiny=80)
    gpt2_batch_size: int = setting("02: batch size", default=1)
    gpt2_learning_rate: float = setting("02: learning rate", colab=1e-4, tiny=3e-3)
    gpt2_accumulate_gradients: int = setting("02: gradient accumulation (gpt-2-simple's default 5; 1 fits a T4, "
                                             "benchmarks/bench_finetune_memory.py)", default=1)
    gpt2_save_every: int = setting("02: checkpoint to Drive every N steps (what a disconnect can cost)",
                                   colab=500, tiny=40)
    gpt2_sample_every: int = setting("02: print a sample every N steps (0: never)", colab=200, tiny=0)
    gpt2_only_transformer_layers: bool = setting("02: train only the transformer blocks (not the embeddings)",
                                                 default=False)
    gpt2_max_reply_tokens: int = setting("02's sample only (03 and 06 read SamplingConfig.max_reply_tokens)",
                                         colab=200, tiny=64)


# Each profile's values by name (read-only view; the values themselves are declared above).
PROFILES: dict[str, dict] = {name: Settings.for_profile(name).as_dict() for name in PROFILE_NAMES}


def resolve_profile(profile: str | None = None) -> str:
    """The notebook's PROFILE if set, else $BOT_PROFILE, else "colab" on Colab and "tiny" elsewhere."""
    name = profile or os.environ.get("BOT_PROFILE") or ("colab" if runtime.in_colab() else "tiny")
    if name not in PROFILE_NAMES:
        raise SettingsError(f"unknown profile {name!r}; choose one of: {', '.join(PROFILE_NAMES)}")
    return name


def make_settings(profile: str | None = None, **params) -> Settings:
    """Settings for `profile` (see resolve_profile) with `params` overriding its values.

    A parameter given as None keeps the profile's value, so notebooks can pass every parameter
    they have and leave the ones a person did not set as None.
    """
    if "profile" in params:
        raise SettingsError("the profile is the first argument, not a parameter")
    name = resolve_profile(profile)
    return Settings.for_profile(name, **params)


def as_dict(settings: Settings) -> dict:
    return settings.as_dict()
