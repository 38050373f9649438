"""Colab's kernels start with `google.colab` imported (helpers.runtime.in_colab looks for it):
the stand-in does the same for every Python started with this folder on its path."""
import google.colab  # noqa: F401
