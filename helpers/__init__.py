"""Shared code for the gpt2-bert-reddit-bot notebooks.

Kept light: importing `helpers` loads no TensorFlow and never gpt_2_simple (which turns off
eager execution for the whole process). Stage modules are imported by the notebooks that need them.
"""
import os

# BERT fine-tuning runs on tf-keras (Keras 2); must be set before TensorFlow is imported.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from helpers.core.context import RunContext, setup  # noqa: E402
from helpers.core.credentials import MissingSecretError, get_secret  # noqa: E402
from helpers.core.exchange import ExchangeError, read_table, write_table  # noqa: E402
from helpers.core.settings import Settings, SettingsError  # noqa: E402

__all__ = [
    "ExchangeError", "MissingSecretError", "RunContext", "Settings", "SettingsError",
    "get_secret", "read_table", "setup", "write_table",
]
