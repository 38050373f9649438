"""BERT encoders built locally (no download), with the TF Hub BERT interface.

`build_encoder` writes a TF2 SavedModel that `hub.KerasLayer(path, trainable=True)` loads like
TF Hub's BERT encoders: dict inputs `input_word_ids`, `input_mask`, `input_type_ids` (int32,
[batch, seq]); dict outputs `pooled_output` [batch, hidden] and `sequence_output`
[batch, seq, hidden]; a `vocab_file` asset and a `do_lower_case` variable for
`bert.tokenization.FullTokenizer`. Weights are randomly initialised (seeded).

    build(path, texts)                        # the tiny profile's encoder, vocab from `texts`
    build_encoder(path, vocab, EncoderShape(num_layers=4, hidden_size=512, num_heads=8))   # any shape
"""
from __future__ import annotations

import functools
import os
import string
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from helpers.core.files import atomic_folder

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # tf-keras, as `import helpers` sets

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
# Every printable ASCII character, alone and as a word-piece continuation, so any ASCII word
# tokenizes into known pieces (never the whole word as [UNK]).
BASE_CHARS = tuple(string.ascii_lowercase + string.ascii_uppercase + string.digits + string.punctuation)


@dataclass(frozen=True)
class EncoderShape:
    """A BERT encoder's sizes (as nanoGPT's GPTConfig): blocks, width, heads, feed-forward width
    (None = 4 x hidden_size), longest input, dropout rate."""

    num_layers: int = 2
    hidden_size: int = 32
    num_heads: int = 2
    intermediate_size: int | None = None
    max_position: int = 512
    dropout: float = 0.1

    def __post_init__(self):
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {self.hidden_size} must be a multiple of num_heads {self.num_heads}")

    @property
    def feed_forward(self) -> int:
        """The width of each block's feed-forward layer."""
        return self.intermediate_size or 4 * self.hidden_size


TINY_SHAPE = EncoderShape(num_layers=2, hidden_size=32, num_heads=2, intermediate_size=64)


def mark_flags_parsed() -> None:
    """bert.tokenization reads absl flags; outside absl.app they must be marked parsed first."""
    from absl import flags

    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()


def build_vocab(texts=(), size: int = 2000, do_lower_case: bool = True) -> list[str]:
    """A WordPiece vocabulary: the special tokens, every ASCII character (alone and as `##c`),
    then the most frequent words of `texts` (split as BERT's BasicTokenizer splits), up to `size`."""
    mark_flags_parsed()
    from bert import tokenization

    basic = tokenization.BasicTokenizer(do_lower_case=do_lower_case)
    chars = [c for c in BASE_CHARS if not (do_lower_case and c.isupper())]
    vocab = list(SPECIAL_TOKENS) + chars + [f"##{c}" for c in chars if c.isalnum()]
    seen = set(vocab)
    counts = Counter()
    for text in texts:
        if isinstance(text, str):
            counts.update(basic.tokenize(text))
    for word, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(vocab) >= size:
            break
        if word not in seen and not word.startswith("##"):
            vocab.append(word)
            seen.add(word)
    return vocab


def _encoder_model(vocab_size: int, shape: EncoderShape, seed: int):
    # Weights ~ N(0, 1/hidden): BERT's fixed 0.02 is right for hidden 768 but makes a tiny
    # encoder's signals so small that fine-tuning sits on a plateau for epochs.
    """A Keras functional BERT encoder: embeddings, post-LN transformer blocks, tanh pooler."""
    import tensorflow as tf

    keras = tf.keras
    num_layers, hidden_size, num_heads = shape.num_layers, shape.hidden_size, shape.num_heads
    intermediate_size, max_position, dropout = shape.feed_forward, shape.max_position, shape.dropout
    init = lambda i: keras.initializers.TruncatedNormal(stddev=hidden_size ** -0.5, seed=seed * 1000 + i)  # noqa: E731
    word_ids = keras.Input(shape=(None,), dtype=tf.int32, name="input_word_ids")
    mask = keras.Input(shape=(None,), dtype=tf.int32, name="input_mask")
    type_ids = keras.Input(shape=(None,), dtype=tf.int32, name="input_type_ids")

    words = keras.layers.Embedding(vocab_size, hidden_size, embeddings_initializer=init(0), name="word_embeddings")(word_ids)
    types = keras.layers.Embedding(2, hidden_size, embeddings_initializer=init(1), name="type_embeddings")(type_ids)
    positions = PositionEmbedding(max_position, hidden_size, init(2), name="position_embeddings")(words)
    x = keras.layers.Add()([words, types, positions])
    x = keras.layers.LayerNormalization(epsilon=1e-12, name="embeddings_norm")(x)
    x = keras.layers.Dropout(dropout)(x)
    attention_mask = AttentionMask(name="attention_mask")(mask)
    for i in range(num_layers):
        attn = keras.layers.MultiHeadAttention(
            num_heads, hidden_size // num_heads, dropout=dropout, kernel_initializer=init(10 + i),
            name=f"layer_{i}_attention")(x, x, attention_mask=attention_mask)
        x = keras.layers.LayerNormalization(epsilon=1e-12, name=f"layer_{i}_attention_norm")(
            x + keras.layers.Dropout(dropout)(attn))
        h = keras.layers.Dense(intermediate_size, activation="gelu", kernel_initializer=init(100 + i),
                               name=f"layer_{i}_intermediate")(x)
        h = keras.layers.Dense(hidden_size, kernel_initializer=init(200 + i), name=f"layer_{i}_output")(h)
        x = keras.layers.LayerNormalization(epsilon=1e-12, name=f"layer_{i}_output_norm")(
            x + keras.layers.Dropout(dropout)(h))
    first = keras.layers.Lambda(lambda t: t[:, 0, :], name="first_token")(x)
    pooled = keras.layers.Dense(hidden_size, activation="tanh", kernel_initializer=init(3), name="pooler")(first)
    inputs = dict(input_word_ids=word_ids, input_mask=mask, input_type_ids=type_ids)
    return keras.Model(inputs, dict(pooled_output=pooled, sequence_output=x), name="bert_encoder")


@functools.cache
def _layers():
    import tensorflow as tf

    class _PositionEmbedding(tf.keras.layers.Layer):
        """Learned position embeddings, sliced to the input's sequence length."""

        def __init__(self, max_position, hidden_size, initializer, **kwargs):
            super().__init__(**kwargs)
            self.max_position, self.hidden_size, self.initializer = max_position, hidden_size, initializer

        def build(self, input_shape):
            self.table = self.add_weight("embeddings", (self.max_position, self.hidden_size), initializer=self.initializer)

        def call(self, x):
            return tf.expand_dims(self.table[: tf.shape(x)[1]], 0)

    class _AttentionMask(tf.keras.layers.Layer):
        """[batch, seq] input mask -> [batch, seq, seq] boolean attention mask."""

        def call(self, mask):
            keys = tf.cast(mask, tf.bool)[:, tf.newaxis, :]
            return tf.broadcast_to(keys, tf.stack([tf.shape(mask)[0], tf.shape(mask)[1], tf.shape(mask)[1]]))

    return _PositionEmbedding, _AttentionMask


def PositionEmbedding(*args, **kwargs):  # noqa: N802 - a layer factory
    return _layers()[0](*args, **kwargs)


def AttentionMask(*args, **kwargs):  # noqa: N802 - a layer factory
    return _layers()[1](*args, **kwargs)


def _reusable(model, vocab_path: Path, do_lower_case: bool):
    """The object to save: TF Hub's reusable SavedModel interface (`__call__(inputs, training)`,
    `variables`, `trainable_variables`, `regularization_losses`) plus the vocab and casing.
    Only the call is saved, not every Keras layer's functions, so loading takes a fraction of
    the time a whole saved Keras model takes."""
    import tensorflow as tf

    root = tf.train.Checkpoint()
    root.vocab_file = tf.saved_model.Asset(str(vocab_path))
    root.do_lower_case = tf.Variable(do_lower_case, trainable=False, name="do_lower_case")
    root.variables = list(model.variables)
    root.trainable_variables = list(model.trainable_variables)
    root.regularization_losses = []
    root.__call__ = tf.function(lambda inputs, training=False: model(inputs, training=training))
    spec = {name: tf.TensorSpec([None, None], tf.int32, name=name)
            for name in ("input_word_ids", "input_mask", "input_type_ids")}
    for training in (False, True):
        root.__call__.get_concrete_function(spec, training)
    return root


def build_encoder(path: Path | str, vocab: list[str], shape: EncoderShape = EncoderShape(), *,
                  do_lower_case: bool = True, seed: int = 0) -> Path:
    """Write a randomly initialised BERT encoder of `shape` to `path` (atomically: built beside
    it, then renamed). Returns `path`."""
    import tensorflow as tf

    path = Path(path)
    tf.keras.utils.set_random_seed(seed)
    model = _encoder_model(len(vocab), shape, seed)
    with tempfile.TemporaryDirectory() as scratch, atomic_folder(path) as saved:
        vocab_path = Path(scratch) / "vocab.txt"  # copied into the SavedModel's assets
        vocab_path.write_text("\n".join(vocab) + "\n", encoding="utf-8")
        tf.saved_model.save(_reusable(model, vocab_path, do_lower_case), str(saved))
    return path


def build(path: Path | str, texts=(), *, vocab_size: int = 2000, seed: int = 0,
          shape: EncoderShape = TINY_SHAPE) -> Path:
    """The tiny profile's encoder (2 layers, hidden 32, or `shape`), with a vocabulary built from `texts`."""
    return build_encoder(path, build_vocab(texts, vocab_size), shape, seed=seed)
