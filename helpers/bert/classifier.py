"""BERT classifiers on TensorFlow 2 (notebooks 04 and 05): pair tokenization, the model,
training with warm-up and decay, export with everything needed to tokenize, and loading back.

The encoder comes from TF Hub (or the locally built tiny one, see `tiny_bert`) through
`hub.KerasLayer(..., trainable=True)`; text is tokenized by `bert.tokenization.FullTokenizer`
with the encoder's own `vocab_file` and `do_lower_case`. A (comment, reply) pair is
`[CLS] comment [SEP] reply [SEP]` with segment ids 0 and 1, truncated to `max_seq_length`.
"""
from __future__ import annotations

import functools
import os
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.bert import trained
from helpers.core.files import atomic_folder
from helpers.core.reddit_terms import DEFAULT_RATING_EDGES, bin_labels

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # tf-keras, as `import helpers` sets

INPUT_NAMES = ("input_word_ids", "input_mask", "input_type_ids")
REALISM_LABELS = ("fake", "real")
UPVOTE_LABELS = ("0", "1", "2", "3")  # rating bins of notebook 01
TF_HUB = "https://tfhub.dev/tensorflow/"
# Encoder choices on the colab profile: the original's BERT base, and small BERTs for speed.
ENCODERS = {
    "bert_en_uncased_L-12_H-768_A-12": TF_HUB + "bert_en_uncased_L-12_H-768_A-12/4",
    "small_bert/bert_en_uncased_L-8_H-512_A-8": TF_HUB + "small_bert/bert_en_uncased_L-8_H-512_A-8/2",
    "small_bert/bert_en_uncased_L-4_H-512_A-8": TF_HUB + "small_bert/bert_en_uncased_L-4_H-512_A-8/2",
    "small_bert/bert_en_uncased_L-4_H-256_A-4": TF_HUB + "small_bert/bert_en_uncased_L-4_H-256_A-4/2",
    "small_bert/bert_en_uncased_L-2_H-128_A-2": TF_HUB + "small_bert/bert_en_uncased_L-2_H-128_A-2/2",
}
TINY = "tiny"


# --- encoder handles -------------------------------------------------------------------------

def encoder_handle(name: str, paths=None, texts=(), seed: int = 0) -> str:
    """The handle `hub.KerasLayer` loads for encoder `name`: a key of ENCODERS, a TF Hub URL or a
    local path as given, or "tiny": the locally built encoder at models/bert_encoder/tiny/ on
    Drive, built (vocabulary from `texts`) if it is not there yet."""
    if name == TINY:
        if paths is None:
            raise ValueError('the "tiny" encoder lives on Drive: pass paths=ctx.paths')
        from helpers.models import tiny_bert

        path = paths.file("bert_encoder", name=TINY)
        if not (path / "saved_model.pb").is_file():
            tiny_bert.build(path, texts, seed=seed)
        return str(path)
    return ENCODERS.get(name, name)


# One training step of BERT base (12 layers, hidden 768), 32 pairs of 128 tokens, on CPU: 40-50 s
# (measured at real shape with random weights; CONVENTIONS section 7).
_BASE_CPU_STEP = (40.0, 50.0, 12, 768, 32, 128)


def cpu_step_estimate(handle: str, batch: int, max_seq_length: int) -> str:
    """What one training step costs on CPU for this encoder and these settings, for the CPU warning:
    the BERT base measurement, scaled by layers x hidden^2 x pairs x tokens for other sizes."""
    low, high, layers, hidden, pairs, tokens = _BASE_CPU_STEP
    shape = re.search(r"L-(\d+)_H-(\d+)", handle or "")
    if not shape:
        return f"an unknown time per training step of {batch} pairs (encoder {handle}; BERT base: 40-50 s per 32)"
    n_layers, n_hidden = int(shape.group(1)), int(shape.group(2))
    scale = (n_layers / layers) * (n_hidden / hidden) ** 2 * (batch / pairs) * (max_seq_length / tokens)
    name = "BERT base" if (n_layers, n_hidden) == (layers, hidden) else shape.group(0)
    return f"{low * scale:.2g}-{high * scale:.2g} s per training step of {batch} pairs ({name}, {max_seq_length} tokens)"


def load_encoder(handle: str, trainable: bool = True):
    """The encoder as a Keras layer, and its vocab file path and casing."""
    from helpers.core.runtime import import_tensorflow_hub

    hub = import_tensorflow_hub()  # not `import tensorflow_hub`: it needs pkg_resources, gone from setuptools 81+
    encoder = hub.KerasLayer(handle, trainable=trainable, name="encoder")
    obj = encoder.resolved_object
    missing = [a for a in ("vocab_file", "do_lower_case") if not hasattr(obj, a)]
    if missing:
        raise ValueError(f"encoder {handle} lacks {', '.join(missing)}: use a TF Hub BERT encoder "
                         "(e.g. one of bert_classifier.ENCODERS) or a tiny_bert one")
    return encoder, obj.vocab_file.asset_path.numpy().decode(), bool(obj.do_lower_case.numpy())


# --- tokenization ----------------------------------------------------------------------------

class PairTokenizer:
    """(comment, reply) pairs -> BERT inputs, as segments A and B of at most `max_seq_length`
    tokens in all. Long text is cut before tokenizing (a token needs at least one character),
    non-ASCII is normalised by BERT's tokenizer (accents stripped when uncased, unknown
    characters become [UNK]); None/NaN count as empty text."""

    def __init__(self, vocab_file: str, do_lower_case: bool, max_seq_length: int, cache_size: int = 65536):
        from helpers.models.tiny_bert import mark_flags_parsed

        if max_seq_length < 4:
            raise ValueError(f"max_seq_length must be at least 4, got {max_seq_length}")
        mark_flags_parsed()
        from bert import tokenization

        self.vocab_file, self.do_lower_case, self.max_seq_length = str(vocab_file), bool(do_lower_case), int(max_seq_length)
        self.tokenizer = tokenization.FullTokenizer(self.vocab_file, do_lower_case=self.do_lower_case)
        self.cls, self.sep = self.tokenizer.convert_tokens_to_ids(["[CLS]", "[SEP]"])
        self.max_chars = 16 * self.max_seq_length
        self.ids = functools.lru_cache(maxsize=cache_size)(self._ids)  # comments repeat across candidates

    def _ids(self, text: str) -> tuple[int, ...]:
        return tuple(self.tokenizer.convert_tokens_to_ids(self.tokenizer.tokenize(text[: self.max_chars])))

    @staticmethod
    def as_text(value) -> str:
        return value if isinstance(value, str) else "" if value is None or pd.isna(value) else str(value)

    def pair_ids(self, comment, reply) -> tuple[list[int], list[int]]:
        """Word ids and segment ids of one pair, truncated as BERT does (longer side first)."""
        a, b = list(self.ids(self.as_text(comment))), list(self.ids(self.as_text(reply)))
        budget = self.max_seq_length - 3
        while len(a) + len(b) > budget:
            (a if len(a) > len(b) else b).pop()
        return [self.cls, *a, self.sep, *b, self.sep], [0] * (len(a) + 2) + [1] * (len(b) + 1)

    def encode(self, comments, replies, pad_to: int | None = None) -> dict[str, np.ndarray]:
        """BERT inputs for many pairs: int32 arrays [n, length], padded to the longest pair
        (or to `pad_to`)."""
        return self.pad([self.pair_ids(c, r) for c, r in zip(comments, replies)], pad_to)

    @staticmethod
    def pad(pairs, pad_to: int | None = None) -> dict[str, np.ndarray]:
        """BERT inputs from `pair_ids` results, padded to the longest (or to `pad_to`)."""
        length = pad_to or max((len(w) for w, _ in pairs), default=2)
        words = np.zeros((len(pairs), length), np.int32)
        types = np.zeros((len(pairs), length), np.int32)
        mask = np.zeros((len(pairs), length), np.int32)
        for i, (w, t) in enumerate(pairs):
            words[i, : len(w)], types[i, : len(t)], mask[i, : len(w)] = w, t, 1
        return dict(input_word_ids=words, input_mask=mask, input_type_ids=types)


def drop_bad_pairs(df: pd.DataFrame, comment_col: str = "comment", reply_col: str = "reply") -> tuple[pd.DataFrame, Counter]:
    """Rows whose comment or reply is missing or blank are dropped and counted by reason."""
    drops: Counter = Counter()
    keep = pd.Series(True, index=df.index)
    for col in (comment_col, reply_col):
        missing = df[col].isna()
        blank = ~missing & (df[col].astype(str).str.strip() == "")
        drops[f"{col}_missing"] += int((keep & missing).sum())
        keep &= ~missing
        drops[f"{col}_blank"] += int((keep & blank).sum())
        keep &= ~blank
    return df[keep].reset_index(drop=True), drops


# --- train/test split ------------------------------------------------------------------------

def thread_groups(df: pd.DataFrame, thread_col: str = "submission_id", comment_col: str = "comment_id") -> np.ndarray:
    """A group id per row such that rows of one thread, and rows of one comment (even if filed
    under two threads), share a group. Comment *texts* are not linked: on reddit short ones
    ("lol", "this") repeat across threads and would chain most threads into one group."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    threads = pd.factorize(df[thread_col].astype(str))[0]
    comments = pd.factorize(df[comment_col].astype(str))[0]
    n = threads.max(initial=-1) + 1
    size = n + comments.max(initial=-1) + 1
    graph = coo_matrix((np.ones(len(df)), (threads, n + comments)), shape=(size, size))
    return connected_components(graph, directed=False)[1][threads]


def split_by_thread(df: pd.DataFrame, test_fraction: float, seed: int = 0, label_col: str | None = "label",
                    thread_col: str = "submission_id", comment_col: str = "comment_id") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and test rows such that no thread and no comment is on both sides.

    Thread groups are taken in a seeded random order; a group goes to test when that brings every
    class's test share closer to `test_fraction` (classes weigh alike, so a rare class such as
    fakes made for a few threads still gets its share of test rows)."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    groups = thread_groups(df, thread_col, comment_col)
    labels = pd.factorize(df[label_col])[0] if label_col and label_col in df.columns else np.zeros(len(df), int)
    counts = np.zeros((groups.max(initial=-1) + 1, labels.max(initial=-1) + 1))
    np.add.at(counts, (groups, labels), 1)
    totals = counts.sum(axis=0)
    target, taken = test_fraction * totals, np.zeros_like(totals)
    is_test_group = np.zeros(len(counts), bool)
    for g in np.random.default_rng(seed).permutation(len(counts)):
        if (np.abs(target - taken - counts[g]) / totals).sum() < (np.abs(target - taken) / totals).sum():
            is_test_group[g], taken = True, taken + counts[g]
    is_test = is_test_group[groups]
    if is_test.all() or not is_test.any():
        raise ValueError(f"cannot split {len(df)} rows in {len(counts)} thread group(s) into train and test")
    return df[~is_test].reset_index(drop=True), df[is_test].reset_index(drop=True)


def split_overview(train: pd.DataFrame, test: pd.DataFrame, labels, label_col: str = "label") -> pd.DataFrame:
    """Rows per class, threads and comments on each side; raises if a thread or a comment is
    on both sides."""
    both = (set(train["submission_id"]) & set(test["submission_id"])) | (set(train["comment_id"]) & set(test["comment_id"]))
    if both:
        raise AssertionError(f"{len(both)} thread(s) or comment(s) are on both sides of the split")
    rows = {}
    for side, df in (("train", train), ("test", test)):
        counts = df[label_col].value_counts()
        rows[side] = {**{str(label): int(counts.get(k, 0)) for k, label in enumerate(labels)},
                      "rows": len(df), "threads": df["submission_id"].nunique(), "comments": df["comment_id"].nunique()}
    return pd.DataFrame(rows).T


# --- length-bucketed batches -----------------------------------------------------------------
# A batch is padded to its longest pair. In arrival order that wastes about half the tokens of
# reddit-like pairs (the sample's 320 pairs: 39,040 padded tokens against 20,352 sorted), so
# inference sorts rows by length and training batches rows of similar length, in random order.

def length_batches(lengths, batch_size: int, *, rng: np.random.Generator | None = None,
                   pool_batches: int = 50, bucket_width: int = 16) -> list[np.ndarray]:
    """Row indices of each batch, rows of similar length together.

    Without `rng` (inference): rows sorted by length (stable), cut into batches; put the results
    back in the caller's order with the indices. With `rng` (training, a new draw each epoch): rows
    shuffled, grouped by length bucket (`bucket_width` tokens) within pools of `pool_batches`
    batches, cut into batches, and the batches shuffled: batches of every length come in random
    order, a row meets other rows each epoch, and there are as many batches as without bucketing.
    Buckets rather than a full sort, so that when length says something about the label (fakes
    shorter than real replies, say) the rows of one bucket still come in random order and a batch
    is not all one class."""
    lengths = np.asarray(lengths)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if rng is None:
        order = np.argsort(lengths, kind="stable")
        return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    order, pool = rng.permutation(len(lengths)), batch_size * max(1, pool_batches)
    batches = []
    for start in range(0, len(order), pool):
        rows = order[start:start + pool]
        rows = rows[np.argsort(lengths[rows] // max(1, bucket_width), kind="stable")]
        batches += [rows[i:i + batch_size] for i in range(0, len(rows), batch_size)]
    return [batches[k] for k in rng.permutation(len(batches))]


def pair_lengths(features: dict) -> np.ndarray:
    """Tokens of each encoded pair (its mask), padding excluded."""
    return np.asarray(features["input_mask"]).sum(axis=1)


def take(features: dict, rows) -> dict:
    """Rows `rows` of padded inputs, cut to the longest of them (inputs are right-padded)."""
    width = max(int(pair_lengths({"input_mask": features["input_mask"][rows]}).max(initial=0)), 2)
    return {name: np.asarray(features[name][rows, :width]) for name in INPUT_NAMES}


def batched_dataset(features: dict, labels=None, batch_size: int = 32, *, seed: int | None = None,
                    pool_batches: int = 50):
    """A tf.data.Dataset of length-bucketed batches, each padded to its own longest pair: sorted
    by length without `seed` (inference), shuffled across buckets anew each epoch with it
    (training, see `length_batches`). One input signature [None, None]: Keras traces once."""
    import tensorflow as tf

    lengths = pair_lengths(features)
    labels = None if labels is None else np.asarray(labels, dtype=np.int32)
    rng = None if seed is None else np.random.default_rng(seed)
    count = -(-len(lengths) // batch_size)

    def batches():
        for rows in length_batches(lengths, batch_size, rng=rng, pool_batches=pool_batches):
            x = take(features, rows)
            yield x if labels is None else (x, labels[rows])

    x_spec = {name: tf.TensorSpec([None, None], tf.int32) for name in INPUT_NAMES}
    spec = x_spec if labels is None else (x_spec, tf.TensorSpec([None], tf.int32))
    data = tf.data.Dataset.from_generator(batches, output_signature=spec)
    return data.apply(tf.data.experimental.assert_cardinality(count)).prefetch(2)


# --- model and training ----------------------------------------------------------------------

def balanced_class_weight(labels, num_labels: int) -> dict[int, float]:
    """Weights n / (k * count) per class so each class weighs the same in the loss."""
    counts = np.bincount(np.asarray(labels, dtype=int), minlength=num_labels)
    present = counts > 0
    return {k: float(len(labels) / (present.sum() * c)) if c else 0.0 for k, c in enumerate(counts)}


def build_classifier(encoder, num_labels: int, *, dropout: float, seed: int = 0):
    """Encoder + dropout + dense head on `pooled_output`; outputs logits."""
    import tensorflow as tf

    keras = tf.keras
    inputs = {name: keras.Input(shape=(None,), dtype=tf.int32, name=name) for name in INPUT_NAMES}
    pooled = encoder(inputs)["pooled_output"]
    x = keras.layers.Dropout(dropout, seed=seed, name="dropout")(pooled)
    logits = keras.layers.Dense(num_labels, kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02, seed=seed),
                                name="classifier")(x)
    return keras.Model(inputs, logits, name="bert_classifier")


def warmup_decay(peak: float, total_steps: int, warmup_fraction: float, offset: int = 0):
    """Learning rate rising linearly to `peak` over the warm-up, then falling linearly to 0.
    `offset`: steps already trained before the optimizer's own count started (a resume from
    weights only, with a fresh optimizer)."""
    import tensorflow as tf

    class WarmUpLinearDecay(tf.keras.optimizers.schedules.LearningRateSchedule):
        def __init__(self, peak, total, warmup, offset=0):
            self.peak, self.total, self.warmup = peak, float(max(total, 1)), float(max(warmup, 1))
            self.offset = float(offset)

        def __call__(self, step):
            step = tf.cast(step, tf.float32) + 1.0 + self.offset
            up = step / self.warmup
            down = tf.maximum(self.total - step + 1.0, 0.0) / max(self.total - self.warmup + 1.0, 1.0)
            return self.peak * tf.minimum(up, down)

        def get_config(self):
            return dict(peak=self.peak, total=self.total, warmup=self.warmup, offset=self.offset)

    return WarmUpLinearDecay(peak, total_steps, int(warmup_fraction * total_steps), offset)


def train(model, data: tuple, config, *, seed: int = 0, validation: tuple | None = None,
          backup: "Backup | None" = None, callbacks=()):
    """Fine-tune `model` (all of it, encoder included) on `data` = (features, labels) with AdamW
    and warm-up + linear decay, as `config` (a `helpers.bert.config.TrainingConfig`) says: epochs,
    batch size, peak learning rate, warm-up, weight decay, and class weights that make every class
    weigh alike when `balance_classes`. `validation` = (features, labels) is evaluated after each
    epoch (`val_loss` in the history). Returns the Keras history; `history.class_weight` holds the
    weights used (None when not balanced).

    With `backup` (a `Backup`), every epoch is backed up on the runtime disk (weights, optimizer
    and epoch; free), and to Drive (the weights and the epoch only: the optimizer state is twice
    their size and can be rebuilt) only once `backup.minutes` of training are not there yet and
    epochs remain. A rerun resumes from the runtime disk's backup (after an error or a kernel
    restart: exactly), else from Drive's (after a lost runtime: the optimizer's moments start
    afresh, the learning-rate schedule carries on), and says from which epoch. A backup made with
    other data, settings or a classifier of another shape is deleted (saying so), not resumed.
    Both backups are removed when training ends."""
    import tensorflow as tf

    features, labels = data
    epochs, batch_size, learning_rate = config.epochs, config.batch_size, config.learning_rate
    warmup_fraction, weight_decay = config.warmup_fraction, config.weight_decay
    tf.keras.utils.set_random_seed(seed)
    labels = np.asarray(labels, dtype=np.int32)
    class_weight = balanced_class_weight(labels, int(model.output_shape[-1])) if config.balance_classes else None
    steps_per_epoch = int(np.ceil(len(labels) / batch_size))
    start = 0
    if backup is not None:
        start = backup.resume(model, trained.key(trained.fingerprint((features, labels), config, seed, model)), epochs)
    offset = start * steps_per_epoch if backup is not None and backup.resumed_from == DRIVE else 0
    optimizer = tf.keras.optimizers.AdamW(
        learning_rate=warmup_decay(learning_rate, epochs * steps_per_epoch, warmup_fraction, offset),
        weight_decay=weight_decay, clipnorm=1.0)
    model.compile(optimizer=optimizer, loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[tf.keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    callbacks = list(callbacks)
    if backup is not None:
        callbacks[:0] = [tf.keras.callbacks.BackupAndRestore(str(backup.keras_dir), save_freq="epoch",
                                                             delete_checkpoint=True), backup.callback(epochs)]
    # Length-bucketed batches, each padded to its longest pair, shuffled across buckets each epoch.
    data = batched_dataset(features, labels, batch_size, seed=seed)
    if validation is not None:
        validation = batched_dataset(validation[0], validation[1], batch_size)
    history = model.fit(data, epochs=epochs, initial_epoch=start, class_weight=class_weight,
                        validation_data=validation, verbose=2, callbacks=callbacks)
    history.class_weight = class_weight
    if backup is not None:
        backup.finish()
    return history


# --- backups while training ------------------------------------------------------------------
RUNTIME_DISK, DRIVE = "the runtime disk", "Drive"
BACKUP_KEY = "training.key"  # what the backup was made from
BACKUP_EPOCH = "epoch"  # epochs finished when it was made
BACKUP_WEIGHTS = "weights.npz"  # on Drive: the epoch and the model's weights (float32, `model.weights` order)


class Backup:
    """Where 04/05 back training up, and what that cost on Drive.

    `local_dir` (runtime disk): Keras' BackupAndRestore after every epoch (weights and optimizer).
    `drive_dir` (Drive): the weights and the epoch, written when `minutes` of training are not on
    Drive yet and an epoch is still to come (at most `max_drive_copies(epochs)` times), replacing
    the previous one (which goes to Trash); removed at the end. `usage` counts every byte written to Drive and sent to Trash."""

    def __init__(self, local_dir: Path, drive_dir: Path, minutes: float | None = None, usage=None):
        from helpers.core import drive_sync

        self.local_dir, self.drive_dir = Path(local_dir), Path(drive_dir)
        self.keras_dir = self.local_dir / "keras"
        self.minutes = drive_sync.DRIVE_MINUTES if minutes is None else float(minutes)
        self.usage = usage if usage is not None else drive_sync.DriveUsage()
        self.resumed_from: str | None = None
        self.start_epoch = self.drive_copies = self.earlier_copies = 0  # earlier: by sessions this one resumes
        self.key = ""

    # -- resuming -------------------------------------------------------------------------------
    @staticmethod
    def _epoch(folder: Path, key: str) -> int | None:
        """Epochs done in the backup in `folder` if it was made from `key` (on Drive the epoch is
        inside the weights file, so the two are replaced as one); None if there is none."""
        key_file, epoch_file, weights = folder / BACKUP_KEY, folder / BACKUP_EPOCH, folder / BACKUP_WEIGHTS
        if not (key_file.is_file() and key_file.read_text(encoding="utf-8").strip() == key):
            return None
        if weights.is_file():
            with np.load(weights) as saved:
                return int(saved["epoch"])
        return int(epoch_file.read_text(encoding="utf-8").strip() or 0) if epoch_file.is_file() else None

    def _discard_foreign(self, key: str) -> None:
        for folder, on_drive in ((self.local_dir, False), (self.drive_dir, True)):
            key_file = folder / BACKUP_KEY
            if folder.exists() and not (key_file.is_file() and key_file.read_text(encoding="utf-8").strip() == key):
                import shutil

                size = self.usage.remove_tree(folder) if on_drive else shutil.rmtree(folder) or 0
                if on_drive and size:
                    print(f"A training backup in {folder} was made with other data, settings or classifier and is "
                          f"not resumed: deleted ({size / 1e9:.2f} GB to Drive's Trash).")

    def resume(self, model, key: str, epochs: int) -> int:
        """The epoch training starts at (0-based), the model's weights loaded from Drive's backup
        when that is the one to resume; says which."""
        self.key = key
        self._discard_foreign(key)
        local, drive = self._epoch(self.local_dir, key), self._epoch(self.drive_dir, key)
        if drive is not None and (self.drive_dir / BACKUP_WEIGHTS).is_file():
            with np.load(self.drive_dir / BACKUP_WEIGHTS) as saved:
                self.earlier_copies = int(saved["copies"])
        if local and local >= (drive or 0) and any(self.keras_dir.rglob("*.index")):
            self.resumed_from, self.start_epoch = RUNTIME_DISK, local
        elif drive:
            import shutil

            shutil.rmtree(self.local_dir, ignore_errors=True)  # older than Drive's: not to be restored
            with np.load(self.drive_dir / BACKUP_WEIGHTS) as saved:
                arrays = [saved[f"w{i}"] for i in range(len(saved.files) - 2)]
            for variable, value in zip(model.weights, arrays):
                variable.assign(value)
            self.resumed_from, self.start_epoch = DRIVE, drive
        if self.resumed_from != RUNTIME_DISK:  # what Keras saved there is not what is resumed: it must not restore it
            import shutil

            shutil.rmtree(self.keras_dir, ignore_errors=True)
        if self.resumed_from:
            what = ("weights and optimizer state" if self.resumed_from == RUNTIME_DISK else
                    "weights; the optimizer's moments start afresh, the learning-rate schedule carries on")
            print(f"Resuming from epoch {self.start_epoch + 1} of {epochs}: the backup on {self.resumed_from} "
                  f"({what}).")
        else:
            print(f"No backup of this training to resume: it starts at epoch 1 of {epochs}.")
        self.local_dir.mkdir(parents=True, exist_ok=True)
        (self.local_dir / BACKUP_KEY).write_text(key, encoding="utf-8")
        return self.start_epoch

    # -- backing up -----------------------------------------------------------------------------
    def epoch_done(self, model, epoch: int, epochs: int, due) -> bool:
        """After epoch `epoch` (1-based count of epochs done): mark the runtime disk's backup, and
        copy the weights to Drive when `due()` and an epoch is still to come. True if copied."""
        (self.local_dir / BACKUP_EPOCH).write_text(str(epoch), encoding="utf-8")
        if epoch >= epochs or self.earlier_copies + self.drive_copies >= max_drive_copies(epochs) or not due():
            return False
        staged = self.local_dir / BACKUP_WEIGHTS
        copies = self.earlier_copies + self.drive_copies + 1
        np.savez(staged, epoch=np.int64(epoch), copies=np.int64(copies),
                 **{f"w{i}": v.numpy() for i, v in enumerate(model.weights)})
        self.drive_dir.mkdir(parents=True, exist_ok=True)
        self.usage.write_text(self.drive_dir / BACKUP_KEY, self.key)
        self.usage.copy(staged, self.drive_dir / BACKUP_WEIGHTS)  # atomic: weights and epoch as one
        staged.unlink()
        self.drive_copies += 1
        due.done()
        return True

    def callback(self, epochs: int):
        """The Keras callback that calls `epoch_done` (after BackupAndRestore has saved the epoch)."""
        import tensorflow as tf

        from helpers.core import drive_sync

        backup, due = self, drive_sync.Due(self.minutes)

        class DriveBackup(tf.keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                backup.epoch_done(self.model, epoch + 1, epochs, due)

        return DriveBackup()

    def finish(self) -> None:
        """Training ended: both backups go (Drive's to Trash, counted)."""
        import shutil

        shutil.rmtree(self.local_dir, ignore_errors=True)
        self.usage.remove_tree(self.drive_dir)

    def says(self) -> str:
        return f"{self.drive_copies} backup(s) copied to Drive; {self.usage.says()}"


def max_drive_copies(epochs: int) -> int:
    """Drive copies one training may make: one per two epochs still to come after the first, at
    least one (3 epochs, the default: one; 10 epochs: four). Each costs its size written and, when
    replaced or at the end, as much in Trash."""
    return max(1, (epochs - 1) // 2)


def plan_backup(model, epochs: int, minutes: float) -> str:
    """What the backup may cost on Drive, said before training: each copy is the weights only."""
    from helpers.core.drive_sync import human

    size = weights_bytes(model)
    most = min(max(0, epochs - 1), max_drive_copies(epochs))
    return (f"Drive plan: the weights ({human(size)}) are copied to Drive after an epoch only once {minutes:g} "
            f"minutes of training are not there yet, at most {most} time(s), never after the last epoch; each copy is "
            f"replaced by the next or deleted at the end, to Trash: at most {human(most * size)} written and as much "
            f"to Trash, none when training takes under {minutes:g} minutes. The export then writes {human(size)} of "
            f"weights, with its graph and vocabulary.")


def weights_bytes(model) -> int:
    """Bytes of the model's weights in float32 (a Drive backup, or the export)."""
    return 4 * int(sum(np.prod(v.shape) for v in model.weights))


def predict_proba(model, features: dict, batch_size: int = 64) -> np.ndarray:
    """Class probabilities of an in-memory (logit-output) classifier, in the rows' order (batches
    are formed by length)."""
    import tensorflow as tf

    order = np.concatenate(length_batches(pair_lengths(features), batch_size) or [np.zeros(0, int)])
    logits = model.predict(batched_dataset(features, batch_size=batch_size), verbose=0)
    out = np.empty_like(logits)
    out[order] = logits
    return tf.nn.softmax(out).numpy()


# --- export and load -------------------------------------------------------------------------

def export(model, tokenizer: PairTokenizer, labels, path: Path | str, record: dict | None = None) -> Path:
    """Save the classifier as a SavedModel carrying what is needed to use it: the vocab file
    (asset), `do_lower_case`, `max_seq_length`, the `labels`, and `predict(inputs) -> probabilities`
    (also the serving signature). Written beside `path`, then swapped in, with `record` (what it
    was trained on, see `trained.record`) inside: the export and its record are replaced as one."""
    import tensorflow as tf

    path = Path(path)
    module = tf.Module()
    module.weights = list(model.variables)  # only the weights and `predict` are saved, not every
    # Keras layer's functions: loading then takes a fraction of the time
    module.vocab_file = tf.saved_model.Asset(tokenizer.vocab_file)
    module.do_lower_case = tf.Variable(tokenizer.do_lower_case, trainable=False, name="do_lower_case")
    module.max_seq_length = tf.Variable(tokenizer.max_seq_length, trainable=False, name="max_seq_length")
    module.labels = tf.Variable([str(label) for label in labels], trainable=False, name="labels")
    spec = {name: tf.TensorSpec([None, None], tf.int32, name=name) for name in INPUT_NAMES}
    module.predict = tf.function(lambda inputs: {"probabilities": tf.nn.softmax(model(inputs, training=False))},
                                 input_signature=[spec])
    with atomic_folder(path) as tmp:
        tf.saved_model.save(module, str(tmp), signatures={"serving_default": module.predict})
        if record is not None:
            trained.write(tmp, record)
    return path


class Classifier:
    """An exported classifier loaded back: tokenizes pairs itself and returns probabilities."""

    def __init__(self, path: Path | str):
        import tensorflow as tf

        path = Path(path)
        if not (path / "saved_model.pb").is_file():
            raise FileNotFoundError(f"no exported classifier in {path}: run the notebook that writes it "
                                    "(04_bert_realism for models/bert_realism/, 05_bert_upvotes for models/bert_upvotes/)")
        self.path = path
        self.saved = tf.saved_model.load(str(path))
        self.labels = [label.decode() for label in self.saved.labels.numpy()]
        self.tokenizer = PairTokenizer(self.saved.vocab_file.asset_path.numpy().decode(),
                                       bool(self.saved.do_lower_case.numpy()), int(self.saved.max_seq_length.numpy()))

    def forward(self, features: dict) -> np.ndarray:
        """Probabilities [n, labels] for already tokenized inputs."""
        import tensorflow as tf

        inputs = {name: tf.convert_to_tensor(features[name], tf.int32) for name in INPUT_NAMES}
        return self.saved.predict(inputs)["probabilities"].numpy()

    def predict(self, comments, replies, batch_size: int = 64) -> np.ndarray:
        """Probabilities [n, labels] of (comment, reply) pairs, in their order (batches are formed
        by length, each padded to its longest pair)."""
        pairs = [self.tokenizer.pair_ids(c, r) for c, r in zip(comments, replies)]
        out = np.zeros((len(pairs), len(self.labels)), np.float32)
        for rows in length_batches([len(w) for w, _ in pairs], batch_size):
            out[rows] = self.forward(self.tokenizer.pad([pairs[i] for i in rows]))
        return out

    def __repr__(self) -> str:
        return f"Classifier({str(self.path)!r}, labels={self.labels}, max_seq_length={self.tokenizer.max_seq_length})"


# --- data and evaluation ---------------------------------------------------------------------

def realism_pairs(real: pd.DataFrame, fake: pd.DataFrame) -> pd.DataFrame:
    """Real and fake (comment, reply) pairs in one table with `label` 1 = real, 0 = fake."""
    cols = ["submission_id", "comment_id", "comment", "reply"]
    return pd.concat([real[cols].assign(label=1), fake[cols].assign(label=0)], ignore_index=True)


def token_lengths(features: dict) -> pd.Series:
    """Tokens per encoded pair (including [CLS] and the two [SEP])."""
    return pd.Series(features["input_mask"].sum(axis=1), name="tokens")


def binary_metrics(y_true, p_real, threshold: float) -> dict:
    """Metrics that do not reward always answering the majority class, plus that baseline."""
    from sklearn import metrics

    y_true, y_pred = np.asarray(y_true, int), (np.asarray(p_real) >= threshold).astype(int)
    both = len(np.unique(y_true)) == 2
    return {
        "roc_auc": float(metrics.roc_auc_score(y_true, p_real)) if both else float("nan"),
        "balanced_accuracy": float(metrics.balanced_accuracy_score(y_true, y_pred)),
        "f1_real": float(metrics.f1_score(y_true, y_pred, pos_label=1, zero_division=0)),
        "f1_fake": float(metrics.f1_score(y_true, y_pred, pos_label=0, zero_division=0)),
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "majority_accuracy": float(max(y_true.mean(), 1 - y_true.mean())) if len(y_true) else float("nan"),
    }


def multiclass_metrics(y_true, proba: np.ndarray, scores=None) -> dict:
    """Per-class one-vs-rest ROC AUC, macro F1, balanced accuracy, and the Spearman rank
    correlation between the expected bin sum_k k * p_k and the real `scores`."""
    from scipy.stats import spearmanr
    from sklearn import metrics

    y_true, pred = np.asarray(y_true, int), proba.argmax(axis=1)
    out = {}
    for k in range(proba.shape[1]):
        hit = y_true == k
        out[f"roc_auc_{k}"] = float(metrics.roc_auc_score(hit, proba[:, k])) if 0 < hit.sum() < len(hit) else float("nan")
    out["roc_auc_macro"] = float(np.nanmean([out[f"roc_auc_{k}"] for k in range(proba.shape[1])]))
    out["macro_f1"] = float(metrics.f1_score(y_true, pred, average="macro", labels=range(proba.shape[1]), zero_division=0))
    out["balanced_accuracy"] = float(metrics.balanced_accuracy_score(y_true, pred))
    out["accuracy"] = float(metrics.accuracy_score(y_true, pred))
    if scores is not None:
        out["spearman_expected_vs_score"] = float(spearmanr(expected_value(proba), np.asarray(scores, float)).statistic)
    return out


def expected_value(proba: np.ndarray) -> np.ndarray:
    """sum_k k * p_k for each row."""
    return proba @ np.arange(proba.shape[1], dtype=float)


def confusion_table(y_true, y_pred, labels) -> pd.DataFrame:
    """Confusion matrix as a table: rows are the true class, columns the predicted one."""
    from sklearn.metrics import confusion_matrix

    cm = confusion_matrix(y_true, y_pred, labels=range(len(labels)))
    return pd.DataFrame(cm, index=[f"true {l}" for l in labels], columns=[f"predicted {l}" for l in labels])


def plot_history(history, title: str):
    """Loss per epoch, training beside held-out (`val_loss`, when there is one), on whole epochs, with
    the chance line: the loss of a classifier that gives every one of the K classes 1/K, ln K (with
    balanced class weights too)."""
    import math

    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    classes = int(history.model.output_shape[-1]) if getattr(history, "model", None) is not None else 2
    epochs = [e + 1 for e in history.epoch]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    names = {"loss": "training rows", "val_loss": "held-out threads"}
    for key, label in names.items():
        if key in history.history:
            ax.plot(epochs, history.history[key], marker="o", label=label)
    ax.axhline(math.log(classes), color="grey", linestyle="--", label=f"chance: ln {classes} = {math.log(classes):.2f}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="epoch", ylabel="loss (cross-entropy)", title=title)
    top = max([math.log(classes), *(v for k in names if k in history.history for v in history.history[k])])
    ax.set_ylim(0, top * 1.15)  # the chance line clear of the top edge
    ax.legend(loc="lower left")
    fig.tight_layout()
    return fig


def _roc(ax, hit, p, label):
    """One ROC curve with its AUC in the legend (nothing when one class is missing)."""
    from sklearn.metrics import roc_auc_score, roc_curve

    if 0 < hit.sum() < len(hit):
        fpr, tpr, _ = roc_curve(hit, p)
        ax.plot(fpr, tpr, label=f"{label} (AUC {roc_auc_score(hit, p):.2f})")


def plot_realism(y_true, p_real, labels=REALISM_LABELS):
    """ROC curve (AUC in the legend), and the histogram of predicted prob_real for real and for fake replies."""
    import matplotlib.pyplot as plt

    y_true, p_real = np.asarray(y_true, int), np.asarray(p_real)
    fig, (roc, hist) = plt.subplots(1, 2, figsize=(10, 4))
    _roc(roc, y_true == 1, p_real, "realism classifier")
    roc.plot([0, 1], [0, 1], "--", color="grey", label="chance (AUC 0.50)")
    roc.set(xlabel="false positive rate (fakes taken for real)", ylabel="true positive rate (real taken for real)",
            title="Held-out threads: ROC, real = positive")
    roc.legend(loc="lower right")
    bins = np.linspace(0, 1, 21)
    for k, label in enumerate(labels):
        hist.hist(p_real[y_true == k], bins=bins, alpha=0.6, density=True, label=f"{label} replies ({(y_true == k).sum()})")
    hist.set(xlim=(0, 1), xlabel="predicted prob_real", ylabel="density",
             title="Held-out threads: prob_real of real and of fake replies")
    hist.legend()
    fig.tight_layout()
    return fig


def plot_upvotes(y_true, proba: np.ndarray, scores=None, edges=DEFAULT_RATING_EDGES):
    """One-vs-rest ROC curve per rating bin (its score range and AUC in the legend), and the expected
    bin against the real reply score (Spearman's rank correlation in the title)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter
    from scipy.stats import spearmanr

    y_true = np.asarray(y_true, int)
    fig, axes = plt.subplots(1, 2 if scores is not None else 1, figsize=(11 if scores is not None else 5.5, 4),
                             squeeze=False)
    roc = axes[0, 0]
    for k, label in enumerate(bin_labels(edges)[: proba.shape[1]]):
        _roc(roc, y_true == k, proba[:, k], label)
    roc.plot([0, 1], [0, 1], "--", color="grey", label="chance (AUC 0.50)")
    roc.set(xlabel="false positive rate", ylabel="true positive rate",
            title="Held-out threads: ROC, each rating bin vs the rest")
    roc.legend(loc="lower right", fontsize="small")
    if scores is not None:
        ax = axes[0, 1]
        scores, expected = np.asarray(scores, float), expected_value(proba)
        rho = spearmanr(expected, scores).statistic if len(scores) > 1 else float("nan")
        ax.scatter(scores, expected, s=8, alpha=0.5)
        ax.set_xscale("symlog")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # -10, 0, 10, 100 (not -10^1)
        ax.set( ylim=(-0.05, proba.shape[1] - 1 + 0.05), xlabel="real reply score (symlog)",
               ylabel="expected rating bin  Σk·p_k", title=f"Expected bin vs real score (Spearman ρ = {rho:.2f})")
    fig.tight_layout()
    return fig
