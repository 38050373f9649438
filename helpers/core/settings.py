"""One typed settings object per run: a named profile plus the notebook's parameters."""
from __future__ import annotations

import dataclasses
import difflib
import os
from dataclasses import dataclass, fields

from helpers.core import runtime


@dataclass(frozen=True)
class Settings:
    profile: str
    seed: int  # one seed for sampling, splits and initialisation
    expects_gpu: bool  # warn when the runtime has no GPU
    data_source: str  # 01: "sample", "arctic_shift", "bigquery" or "dumps"
    gpt2_model: str  # base model: "124M"/"355M" (downloaded) or "tiny" (built locally)
    gpt2_steps: int  # fine-tuning steps
    gpt2_batch_size: int
    gpt2_learning_rate: float
    bert_encoder: str  # TF Hub handle, or "tiny" (built locally)
    bert_max_seq_length: int
    bert_batch_size: int
    bert_epochs: int
    bert_learning_rate: float
    fake_comments: int  # 03: seed comments to write fakes for (0 = all)
    candidates_per_comment: int  # 03 and 06
    gpt2_accumulate_gradients: int  # 02: gpt-2-simple's gradient accumulation (its default is 5; 1 needs less memory)
    gpt2_save_every: int  # 02: checkpoint to Drive every N steps (what a disconnect can cost)
    gpt2_sample_every: int  # 02: print a sample every N steps (0 = never)
    gpt2_max_reply_tokens: int  # 03 and 06: longest reply the engine writes, in tokens
    subreddits: str  # 01 and 06: comma-separated subreddits the models learn from and answer in
    top_level_only: bool  # 01 and 06: the comment of a pair answers the post itself (the original's rule)
    arctic_max_items: int  # 01, arctic_shift: posts and comments fetched per subreddit and month at most (0 = all)
    gpt2_only_transformer_layers: bool  # 02: train only the transformer blocks (not the embeddings)


SUBREDDITS = "cooking, buildapc, CasualConversation, personalfinance"  # 01 learns from them, 06 answers in them
BERT_BASE = "https://tfhub.dev/tensorflow/bert_en_uncased_L-12_H-768_A-12/4"

PROFILES: dict[str, dict] = {
    "colab": dict(
        seed=0,
        expects_gpu=True,
        data_source="arctic_shift",
        gpt2_model="124M",  # 355M needs about 13-16 GiB: more than TensorFlow gets of a T4 (see 02)
        gpt2_steps=1000,
        gpt2_batch_size=1,
        gpt2_learning_rate=1e-4,
        bert_encoder=BERT_BASE,
        bert_max_seq_length=128,
        bert_batch_size=32,
        bert_epochs=3,
        bert_learning_rate=2e-5,
        # The original wrote fakes for about 1,000-1,200 comments; 10 candidates of up to 200
        # tokens each take seconds per comment on a T4 (03 shows an ETA).
        fake_comments=1000,
        candidates_per_comment=10,
        # Fits a free T4 with margin (benchmarks/bench_finetune_memory.py; README "Memory").
        gpt2_accumulate_gradients=1,
        gpt2_save_every=500,
        gpt2_sample_every=200,
        gpt2_max_reply_tokens=200,
        subreddits=SUBREDDITS,
        top_level_only=True,
        arctic_max_items=10_000,
        gpt2_only_transformer_layers=False,
    ),
    "tiny": dict(
        seed=0,
        expects_gpu=False,
        data_source="sample",
        gpt2_model="tiny",
        gpt2_steps=80,
        gpt2_batch_size=1,
        gpt2_learning_rate=3e-3,
        bert_encoder="tiny",
        bert_max_seq_length=64,
        bert_batch_size=16,
        bert_epochs=5,
        bert_learning_rate=1e-3,
        fake_comments=160,
        candidates_per_comment=4,
        gpt2_accumulate_gradients=1,
        gpt2_save_every=40,
        gpt2_sample_every=0,
        gpt2_max_reply_tokens=64,
        subreddits=SUBREDDITS,
        top_level_only=True,
        arctic_max_items=2_000,
        gpt2_only_transformer_layers=False,
    ),
}


class SettingsError(ValueError):
    """An unknown profile or parameter, or a value of the wrong type."""


def resolve_profile(profile: str | None = None) -> str:
    """The notebook's PROFILE if set, else $BOT_PROFILE, else "colab" on Colab and "tiny" elsewhere."""
    name = profile or os.environ.get("BOT_PROFILE") or ("colab" if runtime.in_colab() else "tiny")
    if name not in PROFILES:
        raise SettingsError(f"unknown profile {name!r}; choose one of: {', '.join(PROFILES)}")
    return name


def _check_type(name: str, value, kind: type):
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
        raise SettingsError(f"parameter {name} must be {kind.__name__}, got {value!r}")
    return value


def make_settings(profile: str | None = None, **params) -> Settings:
    """Settings for `profile` (see resolve_profile) with `params` overriding its defaults.

    A parameter given as None keeps the profile's default, so notebooks can pass every
    parameter they have and leave the ones a person did not set as None.
    """
    name = resolve_profile(profile)
    kinds = {f.name: f.type for f in fields(Settings)}
    values = dict(PROFILES[name], profile=name)
    for key, value in params.items():
        if key not in kinds or key == "profile":
            near = difflib.get_close_matches(key, kinds, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise SettingsError(f"unknown parameter {key!r}{hint}; known: {', '.join(k for k in kinds if k != 'profile')}")
        if value is not None:
            values[key] = _check_type(key, value, {"int": int, "float": float, "str": str, "bool": bool}[kinds[key]])
    return Settings(**values)


def as_dict(settings: Settings) -> dict:
    return dataclasses.asdict(settings)
