"""Whether 04/05 train again: what an exported classifier was trained on, against what this run
would train on.

The export folder holds `training.json`, written inside the export's own atomic folder (the two are
replaced as one): the fingerprint of what training depended on (the tokenized training rows and
their labels, the training settings, the seed, the classifier's variable shapes), the prepared set's
run, when training finished, and the loss per epoch. `decide` is a plain function of that record and
of this run's fingerprint: the same and RETRAIN off, the export is loaded and nothing is trained or
written; anything else trains (and says why). The same fingerprint keys the training backups.
"""
from __future__ import annotations

import hashlib
import json
import types
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from helpers.core.drive_sync import human
from helpers.core.files import write_json

RECORD = "training.json"  # in the export folder, beside saved_model.pb
SCHEME = 1  # what the fingerprint covers; a new scheme makes every older record "other"
NOT_TRAINING = ("threshold", "retrain")  # TrainingConfig fields that do not change what training produces


def _normal(value):
    """As it reads back from JSON (tuples become lists, keys strings): a record compares equal to a fresh one."""
    return json.loads(json.dumps(value, default=str))


def fingerprint(data: tuple, config, seed: int, model) -> dict:
    """What training depends on: `data` = (features, labels) as `classifier.train` takes them, the
    training settings of `config` (a TrainingConfig; all fields but NOT_TRAINING), the seed, and the
    shapes of `model.weights` (not their names: Keras numbers layers per process)."""
    features, labels = data
    digest = hashlib.sha256()
    for name in sorted(features):
        array = np.ascontiguousarray(features[name], dtype=np.int32)
        digest.update(f"{name}{array.shape}".encode())
        digest.update(array.tobytes())
    labels = np.ascontiguousarray(labels, dtype=np.int32)
    digest.update(labels.tobytes())
    shapes = [tuple(int(d) for d in v.shape) for v in model.weights]
    settings = {k: v for k, v in config.as_dict().items() if k not in NOT_TRAINING}
    return _normal({"scheme": SCHEME, "rows": int(len(labels)), "data": digest.hexdigest(), "settings": settings,
                    "seed": int(seed), "weights": int(sum(np.prod(s) for s in shapes)),
                    "shape": hashlib.sha256(repr(shapes).encode()).hexdigest()})


def key(fingerprint_: dict) -> str:
    """The fingerprint as one string (the training backups' key)."""
    return hashlib.sha256(json.dumps(fingerprint_, sort_keys=True).encode()).hexdigest()


def differences(before: dict, now: dict) -> list[str]:
    """What differs between two fingerprints, in words (empty when they are the same)."""
    if before.get("scheme") != now.get("scheme"):
        return ["the record is of an older kind"]
    found = []
    if before.get("data") != now.get("data"):
        found.append(f"other training rows ({before.get('rows')} then, {now.get('rows')} now)")
    old, new = before.get("settings", {}), now.get("settings", {})
    changed = [f"{k.upper()} {old.get(k)!r} -> {new.get(k)!r}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    if changed:
        found.append("other settings (" + ", ".join(changed) + ")")
    if before.get("seed") != now.get("seed"):
        found.append(f"another SEED ({before.get('seed')} then, {now.get('seed')} now)")
    if (before.get("shape"), before.get("weights")) != (now.get("shape"), now.get("weights")):
        found.append(f"a classifier of another shape ({before.get('weights')} weights then, {now.get('weights')} now)")
    return found


@dataclass(frozen=True)
class Found:
    """What is on Drive: the export's record (None if it has none), its bytes (0: no export), and the
    bytes of a training backup left by a training that did not finish (0: none)."""

    record: dict | None
    bytes: int
    backup: int = 0


def _bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


def look(export_dir: Path, backup_dir: Path | None = None) -> Found:
    """The export at `export_dir` and its record, and the training backup in `backup_dir`; read only."""
    export_dir = Path(export_dir)
    backup = _bytes(Path(backup_dir)) if backup_dir is not None else 0
    if not (export_dir / "saved_model.pb").is_file():
        return Found(None, 0, backup)
    try:
        record = json.loads((export_dir / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = None
    return Found(record if isinstance(record, dict) else None, _bytes(export_dir), backup)


@dataclass(frozen=True)
class Decision:
    train: bool
    says: str


def trained_on(record: dict) -> str:
    """'prepared set run X, finished Y' from a record."""
    runs = sorted({str(v.get("run_id")) for v in (record.get("prepared") or {}).values() if v.get("run_id")})
    run = f"prepared set run {', '.join(runs)}" if runs else "prepared set of unknown run"
    return f"{run}, finished {record.get('finished', 'at an unknown time')}"


def decide(found: Found, now: dict, retrain: bool, shown: str) -> Decision:
    """Train, or load the export at `shown` (its name for messages): a plain function of what is on
    Drive (`found`), this run's fingerprint `now`, and RETRAIN."""
    replaced = f"the new export replaces this one at the end ({human(found.bytes)} to Drive's Trash)"
    if not found.bytes:
        return Decision(True, f"No exported classifier at {shown} yet: training.")
    if found.record is None or "fingerprint" not in found.record:
        return Decision(True, f"{shown} has no record of what it was trained on (exported before the notebooks kept "
                              f"one): training again; {replaced}.")
    other = differences(found.record["fingerprint"], now)
    if other:
        return Decision(True, f"{shown} was trained with {'; '.join(other)} ({trained_on(found.record)}): training "
                              f"again; {replaced}.")
    if retrain:
        return Decision(True, f"RETRAIN=True: training again, on the same data and settings as {shown} "
                              f"({trained_on(found.record)}); {replaced}.")
    left = (f"\nA training that did not finish left a backup on Drive ({human(found.backup)}): RETRAIN=True resumes it "
            "if it is of this data and these settings; else delete its folder in models/bert_backup/ (nothing else removes it)."
            if found.backup else "")
    return Decision(False, f"{shown} is already trained on this data with these settings ({trained_on(found.record)}): "
                           f"loaded, not trained again. Set RETRAIN=True to train again: {replaced}.\n"
                           f"Drive plan: nothing to write (no training, no backup, no export).{left}")


def record(now: dict, history, prepared: dict, finished: str | None = None) -> dict:
    """The record written with an export: fingerprint, the prepared files read (`manifest.seen()`),
    when training finished, and the Keras history (loss per epoch, class weights) to show again."""
    return _normal({
        "fingerprint": now, "prepared": prepared,
        "finished": finished or datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "epoch": list(history.epoch), "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
        "class_weight": getattr(history, "class_weight", None)})


def write(folder: Path, data: dict) -> Path:
    """Write the record into `folder` (the export's temporary folder, before it is swapped in)."""
    return write_json(Path(folder) / RECORD, data)


def load(model, export_dir: Path):
    """Load the export's weights into `model` (built as for training) and return its training
    history as Keras' History reads (`history`, `epoch`, `model`, `class_weight`)."""
    import tensorflow as tf

    export_dir = Path(export_dir)
    saved = tf.saved_model.load(str(export_dir))
    weights = list(saved.weights)
    targets = list(model.variables)
    shapes = [tuple(v.shape) for v in weights], [tuple(v.shape) for v in targets]
    if shapes[0] != shapes[1]:
        raise ValueError(f"the export in {export_dir} does not fit this classifier's variables: set RETRAIN=True")
    for target, value in zip(targets, weights):
        target.assign(value)
    done = json.loads((export_dir / RECORD).read_text(encoding="utf-8"))
    weight = done.get("class_weight")
    return types.SimpleNamespace(history=done.get("history", {}), epoch=done.get("epoch", []), model=model,
                                 class_weight=None if weight is None else {int(k): v for k, v in weight.items()})
