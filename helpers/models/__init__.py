"""Models built locally with no download: the tiny GPT-2 and BERT of the `tiny` profile, and
random-weight models of the real sizes for offline tests of the `colab` profile."""
