"""One default pass 01-08 at the colab profile's sizes fits a free Google account: at most about
3 GB written to Drive and 1 GB sent to Trash, counted by a Drive stand-in (tests/standins/
drive_meter.py) that watches every file operation on the mount.

How: the notebooks' own Drive code runs for real (02's `finetune` with its copy policy, 03/06's
batched journal, 04/05's `Backup`, the atomic writers), and only what would need a GPU is stood in
for: gpt-2-simple's `finetune` writes a checkpoint of 124M's real byte count, a BERT "model" has
BERT base's number of weights, and a simulated clock stands for a T4's time. Big files are written
at 1/SCALE of their real size and the counts multiplied back (a pass would otherwise write 3 GB
to this disk); CSVs are written at their real size. Not a real run on `tiny` scaled up, because
what decides the budget is how often a copy is made, which depends on time per step and epoch at
real sizes, not on tiny's.

The times are the slow case for the defaults (the budget must hold on a slow day): GPT-2 124M at
1.5 s per step (1000 steps = 25 minutes, under 02's DRIVE_MINUTES; an estimate of a T4 from its
8.1 fp32 TFLOPS is 0.3 s), BERT base at 60 minutes per epoch (so every Drive copy the rule allows
is made; a T4 estimate for ~40k pairs is 15-20 minutes). Sizes: 124M float32 weights 497.8 MB
(exact), BERT base 109.5M weights = 438 MB (exact); CSV sizes from the row counts of the defaults
(stated beside each below).
"""
import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from drive_meter import DriveMeter
from helpers.core import drive_sync, files
from helpers.core.paths import Paths
from helpers.gpt2 import finetune as ft
from helpers.gpt2 import journal
from helpers.gpt2.sampling_config import SamplingConfig

SCALE = 1000  # big files are written at 1/SCALE of their size
GB = 1e9
GPT2_DATA = 4 * ft.parameter_count(ft.KNOWN_HPARAMS["124M"])  # 497.8 MB: the checkpoint's weights
GPT2_META, GPT2_INDEX = 3_000_000, 10_000  # graph and index files of the checkpoint (a few MB at most)
BERT_WEIGHTS = 4 * 109_482_240  # BERT base (bert_en_uncased_L-12_H-768_A-12) plus a 2-4 way head: 438 MB
SECONDS_PER_GPT2_STEP = 1.5
BERT_EPOCH_MINUTES = 60.0


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


@pytest.fixture
def world(tmp_path, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(drive_sync, "CLOCK", clock)
    monkeypatch.setitem(sys.modules, "gpt_2_simple", fake_gpt2(clock))
    drive, local = tmp_path / "drive", tmp_path / "local"
    drive.mkdir()
    local.mkdir()
    monkeypatch.setenv("BOT_LOCAL_ROOT", str(local))
    return types.SimpleNamespace(drive=drive, local=local, paths=Paths(drive), clock=clock)


def blob(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * max(1, size // SCALE))


def fake_gpt2(clock) -> types.ModuleType:
    """gpt-2-simple as 02 uses it: `finetune` trains `steps` steps (on the clock) and saves one
    checkpoint of 124M's size in checkpoint_dir/run_name, as its Saver does."""
    module = types.ModuleType("gpt_2_simple")

    class Session:
        def close(self):
            pass

    def finetune(sess, dataset, steps, model_name, model_dir, checkpoint_dir, run_name, **options):
        run = Path(checkpoint_dir) / run_name
        run.mkdir(parents=True, exist_ok=True)
        step = ft.completed_steps(run) + steps
        clock.t += steps * SECONDS_PER_GPT2_STEP
        blob(run / f"model-{step}.data-00000-of-00001", GPT2_DATA)
        blob(run / f"model-{step}.index", GPT2_INDEX)
        blob(run / f"model-{step}.meta", GPT2_META)
        (run / "counter").write_text(f"{step}\n")
        (run / "checkpoint").write_text(f'model_checkpoint_path: "{run}/model-{step}"\n')
        for name, size in (("hparams.json", 200), ("encoder.json", 1_042_301), ("vocab.bpe", 456_318)):
            blob(run / name, size)
        with open(run / "events.out.tfevents.1", "ab") as f:
            f.write(b"e" * steps)

    module.start_tf_sess = lambda: Session()
    module.finetune = finetune
    return module


# -- the notebooks' Drive traffic -------------------------------------------------------------------
def pass_01(w):
    """Arctic Shift pages (4 subreddits x 3 months, 10,000 posts and comments each at most; about
    550 B per trimmed post and 350 B per comment) and the prepared CSVs (~40k pairs)."""
    for sub in range(4):
        for month in range(3):
            folder = w.drive / "raw" / "arctic_shift" / f"sub{sub}" / f"2019-0{month + 1}"
            if not folder.exists():  # a rerun resumes from the pages
                _write(folder / "posts_00000.json", 10_000 * 550)  # real size: 01 is counted at scale 1
                _write(folder / "comments_00000.json", 10_000 * 350)
    for key, rows, size in (("gpt2_finetune", 40_000, 400), ("bert_real", 40_000, 450), ("gpt2_generate", 20_000, 250)):
        _write(w.paths.file(key), rows * size)
    return 1


def _write(path: Path, size: int) -> None:
    """A file handed on as the notebooks write them (atomically), at its real size."""
    with files.atomic_path(path) as tmp:
        tmp.write_bytes(b"x" * size)


OUTPUTS = ("prepared", "runs/2026-12-06")  # tables a second pass writes again (the first pass's bytes bound its Trash)


def pass_02(w):
    cfg = ft.FinetuneConfig.for_profile("colab")
    run_dir = w.paths.file("gpt2_run", run=cfg.run_name)
    for name in ("train.csv", "valid.csv"):
        if not (run_dir / name).is_file():
            _write(run_dir / name, 40_000 * 400 // (10 if name == "valid.csv" else 1) // SCALE)  # counted x SCALE
    (w.local / "base" / "124M").mkdir(parents=True, exist_ok=True)
    ft.finetune(run_dir / "train.csv", w.local / "base" / "124M", run_dir, cfg, work_dir=w.local / "gpt2_work")
    return SCALE


class Reply:
    def __init__(self, text):
        self.text, self.tokens = text, len(text) // 4


class Engine:
    comments_per_run = 10

    def generate(self, comments, n, keys, comments_per_run, **sampling):
        return [[Reply(f"{key} " + "a reply of about sixty tokens " * 8) for _ in range(n)] for key in keys]


def pass_03(w):
    """1,000 seed comments x 10 candidates (the colab defaults), about 250 characters each."""
    seeds = pd.DataFrame({"comment_id": [f"c{i}" for i in range(1000)], "submission_id": [f"s{i}" for i in range(1000)],
                          "comment": ["a seed comment of a usual length " * 7] * 1000})
    target = journal.DriveBatches(w.paths.file("fake_candidates"), w.local / "journal" / "prepared", every=100, minutes=10)
    candidates = journal.generate_resumable(Engine(), seeds, "comment_id", "comment", target, SamplingConfig.for_profile("tiny", candidates_per_comment=10), progress=False)
    _write(w.paths.file("bert_fake"), len(candidates.to_csv(index=False)))
    return 1


class Weights:
    def __init__(self, size):
        self.array = np.zeros(size // SCALE // 4, np.float32)
        self.shape = self.array.shape

    def numpy(self):
        return self.array

    def assign(self, value):  # a resume from Drive's backup
        self.array = np.asarray(value)


def pass_bert(w, model: str, export_key: str, lost_in: int = 0, **settings):
    """As 04/05 do: the export on Drive is loaded when it was trained on this data with these settings
    (RETRAIN off), else 3 epochs (the default), each BERT_EPOCH_MINUTES long, backed up as 04/05 do,
    then the export with its record. `settings`: TrainingConfig fields changed from the defaults;
    `lost_in`: the runtime is lost during that epoch (its disk with it)."""
    from helpers.bert import classifier as bc
    from helpers.bert import trained
    from helpers.bert.config import TrainingConfig

    config = TrainingConfig.for_profile("colab", **settings)
    standin = types.SimpleNamespace(weights=[Weights(BERT_WEIGHTS)])
    rows = np.arange(40_000 * 16, dtype=np.int32).reshape(40_000, 16) % 30_522  # ~40k tokenized pairs (cut short)
    data = ({"input_word_ids": rows, "input_mask": np.ones_like(rows), "input_type_ids": np.zeros_like(rows)},
            rows[:, 0] % 2)
    export_dir, backup_dir = w.paths.file(export_key), w.paths.file("bert_backup", model=model)
    now = trained.fingerprint(data, config, 0, standin)
    decision = trained.decide(trained.look(export_dir, backup_dir), now, config.retrain, export_key)
    print(decision.says)
    if not decision.train:
        return SCALE
    backup = bc.Backup(w.local / "bert_backup" / model, backup_dir)
    start = backup.resume(standin, trained.key(now), config.epochs)
    due = drive_sync.Due(backup.minutes)
    for epoch in range(start + 1, config.epochs + 1):
        w.clock.t += BERT_EPOCH_MINUTES * 60
        if epoch == lost_in:
            shutil.rmtree(w.local / "bert_backup")
            return SCALE
        backup.epoch_done(standin, epoch, config.epochs, due)
    backup.finish()
    history = types.SimpleNamespace(epoch=list(range(config.epochs)), history={"loss": [0.5] * config.epochs},
                                    class_weight={0: 1.0, 1: 1.0})
    with files.atomic_folder(export_dir) as tmp:
        blob(tmp / "variables" / "variables.data-00000-of-00001", BERT_WEIGHTS)
        blob(tmp / "saved_model.pb", 5_000_000)
        blob(tmp / "assets" / "vocab.txt", 231_508)
        trained.write(tmp, trained.record(now, history, {"bert_real": {"run_id": "20261206T033000Z-abc123"}}))
    return SCALE


def pass_06(w):
    """One live run: 200 fresh comments x 10 candidates."""
    items = pd.DataFrame({"comment_id": [f"l{i}" for i in range(200)], "comment": ["a fresh comment " * 10] * 200})
    out = w.paths.file("candidates", date="2026-12-06")
    journal.generate_resumable(Engine(), items, "comment_id", "comment",
                               journal.DriveBatches(out, w.local / "journal" / "runs", every=20, minutes=5),
                               SamplingConfig.for_profile("tiny", candidates_per_comment=10),
                               progress=False)
    return 1


def pass_07_08(w):
    """Scores, review, proposals (~2,000 rows), the ledger and the feedback fetches: a few MB."""
    for key, size in (("scored", 2_000 * 700), ("review", 100 * 800), ("proposals", 100 * 800)):
        _write(w.paths.file(key, date="2026-12-06"), size)
    return 1


PASSES = {"01": pass_01, "02": pass_02, "03": pass_03,
          "04": lambda w: pass_bert(w, "realism", "bert_realism"), "05": lambda w: pass_bert(w, "upvotes", "bert_upvotes"),
          "06": pass_06, "07-08": pass_07_08}


def one_pass(w) -> dict:
    """Each notebook under its own Drive meter; bytes counted, multiplied back by the scale it wrote at."""
    out = {}
    for name, step in PASSES.items():
        with DriveMeter(w.drive) as meter:
            scale = step(w)
        out[name] = {"written": meter.written * scale, "trashed": meter.trashed * scale,
                     "revised": meter.revised * scale}
    return out


def total(counts: dict, what: str) -> float:
    return sum(c[what] for c in counts.values())


def folder_bytes(folder: Path, scaled: bool) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) * (SCALE if scaled else 1)


@pytest.mark.parametrize("new_runtime", [False, True], ids=["same runtime", "new runtime"])
def test_a_default_pass_fits_the_budget_and_a_second_pass_adds_no_more(world, capsys, new_runtime):
    first = one_pass(world)
    replaced = sum(folder_bytes(world.drive / o, o.startswith("models")) for o in OUTPUTS)
    if new_runtime:  # another day: the runtime disk (checkpoints, working copies, backups) is gone
        shutil.rmtree(world.local)
        world.local.mkdir()
    second = one_pass(world)  # the whole series run again, as a person might
    with capsys.disabled():
        print("\nnotebook   first pass: written / to Trash (GB)   second pass: written / to Trash (GB)")
        for name in first:
            f, s = first[name], second[name]
            print(f"{name:8}  {f['written'] / GB:7.3f} / {f['trashed'] / GB:7.3f}"
                  f"                     {s['written'] / GB:7.3f} / {s['trashed'] / GB:7.3f}")
        print(f"total     {total(first, 'written') / GB:7.3f} / {total(first, 'trashed') / GB:7.3f}"
              f"                     {total(second, 'written') / GB:7.3f} / {total(second, 'trashed') / GB:7.3f}")
    assert total(first, "written") <= 3.0 * GB
    assert total(first, "trashed") + total(first, "revised") <= 1.0 * GB
    assert total(first, "revised") == 0  # nothing appended in place on Drive: no revision per comment
    # 02: one checkpoint (and its split, vocabulary and small files), nothing to Trash
    assert GPT2_DATA < first["02"]["written"] < GPT2_DATA + 30e6 and first["02"]["trashed"] < 1e6
    # 04/05: one weights-only backup at most (not 3 backups with optimizer state), deleted at the end
    for name in ("04", "05"):
        assert first[name]["trashed"] == pytest.approx(BERT_WEIGHTS, rel=0.01)
    # A second pass (same data, same settings) adds no more than the first, in all and notebook by
    # notebook: 02 and the candidates are complete, 04 and 05 find their exports trained on this data
    # with these settings and neither train nor write; what remains is the small tables 01, 03 and
    # 07 write again (prepared CSVs, fakes, scores), less than the first pass's.
    counted = per_notebook(first, second)
    assert total(second, "written") <= total(first, "written"), counted
    assert total(second, "trashed") <= total(first, "trashed"), counted
    for name in first:
        assert second[name]["written"] <= first[name]["written"], f"{name} writes more the second time:\n{counted}"
    for name in ("02", "04", "05"):
        assert second[name]["written"] == second[name]["trashed"] == 0, f"{name} on the second pass:\n{counted}"
    assert total(second, "trashed") <= replaced, counted  # no more than the small tables it replaces


def per_notebook(first: dict, second: dict) -> str:
    """What was counted, notebook by notebook, for an assertion's message."""
    return "\n".join(f"{name}: first pass {first[name]['written'] / GB:.3f} GB written, {first[name]['trashed'] / GB:.3f} GB "
                     f"to Trash; second {second[name]['written'] / GB:.3f} / {second[name]['trashed'] / GB:.3f}"
                     for name in first)


def test_04_trains_again_when_asked_or_when_a_setting_changed_and_trashes_only_the_export_it_replaces(world, capsys):
    """RETRAIN=True, or another EPOCHS, on a Drive holding 04's export: 04 trains again, says why, and
    costs what a first run costs plus the old export going to Trash once (nothing deleted up front,
    no second copy); a rerun after that, with RETRAIN off, writes nothing."""
    pass_01(world)
    with DriveMeter(world.drive) as meter:
        pass_bert(world, "realism", "bert_realism")
    first = {"written": meter.written * SCALE, "trashed": meter.trashed * SCALE}
    export = folder_bytes(world.drive / "models" / "bert_realism", scaled=True)
    capsys.readouterr()
    for settings, why in (({"retrain": True}, "RETRAIN=True: training again, on the same data and settings"),
                          ({"epochs": 4}, "other settings (EPOCHS 3 -> 4)")):
        with DriveMeter(world.drive) as meter:
            pass_bert(world, "realism", "bert_realism", **settings)
        said = capsys.readouterr().out
        counted = f"{settings}: {meter.written * SCALE / GB:.3f} GB written, {meter.trashed * SCALE / GB:.3f} GB to Trash"
        assert why in said and "to Drive's Trash" in said, said
        assert meter.written * SCALE <= first["written"] + 1e6, counted
        assert meter.trashed * SCALE == pytest.approx(first["trashed"] + export, rel=0.01), counted
    with DriveMeter(world.drive) as meter:
        pass_bert(world, "realism", "bert_realism", epochs=4)  # the settings of the last training, RETRAIN off
    assert "already trained on this data with these settings" in capsys.readouterr().out
    assert meter.written == meter.trashed == 0


def test_a_retrain_cut_short_then_resumed_costs_what_one_retrain_costs(world, capsys):
    """RETRAIN=True, the runtime lost in epoch 3 (after epoch 1's weights went to Drive): a rerun with
    RETRAIN off loads the old export, writes nothing and says a backup was left; with RETRAIN on it
    resumes from epoch 2 and makes no second copy. Both sessions together: what one retrain costs."""
    pass_01(world)
    with DriveMeter(world.drive) as meter:
        pass_bert(world, "realism", "bert_realism")
    first = {"written": meter.written * SCALE, "trashed": meter.trashed * SCALE}
    export = folder_bytes(world.drive / "models" / "bert_realism", scaled=True)
    with DriveMeter(world.drive) as cut:
        pass_bert(world, "realism", "bert_realism", lost_in=3, retrain=True)
    capsys.readouterr()
    with DriveMeter(world.drive) as off:
        pass_bert(world, "realism", "bert_realism")
    said = capsys.readouterr().out
    assert "already trained" in said and "did not finish left a backup on Drive (" in said, said
    assert off.written == off.trashed == 0
    with DriveMeter(world.drive) as resumed:
        pass_bert(world, "realism", "bert_realism", retrain=True)
    assert "Resuming from epoch 2 of 3: the backup on Drive" in capsys.readouterr().out
    written, trashed = (cut.written + resumed.written) * SCALE, (cut.trashed + resumed.trashed) * SCALE
    assert written <= first["written"] + 1e6 and trashed == pytest.approx(first["trashed"] + export, rel=0.01)
    assert not (world.drive / "models" / "bert_backup" / "realism").exists()


def test_the_meter_counts_replacements_deletions_and_appends(tmp_path):
    """The stand-in itself: a replaced file and a deleted folder go to Trash, an append in place
    is a revision, and files written by code it cannot see are reported."""
    import os
    import shutil

    d = tmp_path / "d"
    d.mkdir()
    with DriveMeter(d) as m:
        (d / "a").write_bytes(b"x" * 100)
        with files.atomic_path(d / "a") as tmp:
            tmp.write_bytes(b"y" * 50)
        (d / "f").mkdir()
        (d / "f" / "g").write_bytes(b"z" * 30)
        shutil.rmtree(d / "f")
        with open(d / "a", "ab") as f:
            f.write(b"w" * 5)
    assert (m.written, m.trashed, m.revisions, m.revised) == (185, 130, 1, 50)
    os.truncate(d / "a", 10)  # not seen: a change by code outside Python's file calls
    assert m.unseen() == ["a"]


def test_on_a_usual_t4_day_04_and_05_make_no_drive_backup(world, monkeypatch, capsys):
    """Epochs of 14 minutes (a T4 estimate for the default data) keep the first two epochs under the
    30 Drive minutes: no Drive backup at all, and almost nothing goes to Trash."""
    monkeypatch.setattr(sys.modules[__name__], "BERT_EPOCH_MINUTES", 14.0)
    monkeypatch.setattr(sys.modules[__name__], "SECONDS_PER_GPT2_STEP", 0.3)
    counts = one_pass(world)
    with capsys.disabled():
        print(f"\nusual day: {total(counts, 'written') / GB:.3f} GB written, {total(counts, 'trashed') / GB:.3f} GB to Trash")
    assert counts["04"]["trashed"] == counts["05"]["trashed"] == 0
    assert total(counts, "written") <= 1.7 * GB and total(counts, "trashed") <= 0.05 * GB
