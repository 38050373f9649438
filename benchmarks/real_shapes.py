"""Random-weight models of the real shapes for the benchmarks, built once into a cache folder
(on top of `helpers.models.real_shape`).

    gpt2_run("124M", cache)   -> (checkpoint_dir, run_name): a gpt-2-simple run of GPT-2 124M's
                                 shape with a synthetic 50,257-token vocabulary
    bert_base_encoder(cache, texts) -> a TF Hub-style BERT base encoder (12 layers, hidden 768)
                                 whose vocabulary holds the words of `texts`, so that pairs
                                 tokenize to about their real lengths

Nothing is downloaded: the shape, not the text, sets the cost of a step.
"""
from __future__ import annotations

from pathlib import Path

from helpers.models import real_shape, tiny_gpt2


def gpt2_run(shape: str, cache: Path | str, seed: int = 0) -> tuple[Path, str]:
    """A random-weight gpt-2-simple run of `shape` ("124M" or "355M") under `cache`, built once."""
    root = Path(cache) / f"gpt2-{shape}"
    if not tiny_gpt2.is_built(root / "run1"):
        root.mkdir(parents=True, exist_ok=True)
        real_shape.build_gpt2(root / "run1", shape, seed=seed)
    return root, "run1"


def bert_base_encoder(cache: Path | str, texts, seed: int = 0) -> Path:
    """A random-weight BERT base encoder (TF Hub interface) under `cache`, built once."""
    from helpers.models import tiny_bert

    path = Path(cache) / "bert-base-encoder"
    if not (path / "saved_model.pb").is_file():
        Path(cache).mkdir(parents=True, exist_ok=True)
        vocab = tiny_bert.build_vocab(texts, size=real_shape.BERT_VOCAB)
        tiny_bert.build_encoder(path, vocab, real_shape.BERT_BASE_SHAPE, seed=seed)
    return path
