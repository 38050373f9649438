"""Drive holds at most one checkpoint per run after any sequence of saves, disconnects, crashes
mid-copy and resumes; every byte written to Drive or sent to its Trash is counted."""
import os
from pathlib import Path

from helpers.core import drive_sync as ds

SIZES = {"data-00000-of-00001": 5000, "index": 300, "meta": 700}  # bytes of a fake checkpoint


def save(local: Path, step: int, keep_old: bool = False) -> None:
    """What gpt-2-simple's Saver leaves on the runtime disk after saving step `step`."""
    local.mkdir(parents=True, exist_ok=True)
    if not keep_old:
        for files in ds.checkpoint_steps(local).values():
            for f in files:
                f.unlink()
    for suffix, size in SIZES.items():
        (local / f"model-{step}.{suffix}").write_bytes(os.urandom(size))
    (local / "counter").write_text(f"{step}\n")
    (local / "checkpoint").write_text(f'model_checkpoint_path: "{local}/model-{step}"\n')  # absolute, as TF writes
    for name in ds.RUN_FILES:
        (local / name).write_text("{}")


def on_drive(drive: Path) -> list[int]:
    return sorted(ds.checkpoint_steps(drive))


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def test_saves_disconnects_and_crashes_leave_one_checkpoint(tmp_path):
    drive, usage = tmp_path / "drive" / "run1", ds.DriveUsage()
    one = sum(SIZES.values())
    session1 = tmp_path / "runtime1" / "run1"
    for step in (4, 8, 12):
        save(session1, step)
        ds.sync_checkpoint(session1, drive, usage)
        assert on_drive(drive) == [step]
    # every replaced checkpoint went to Trash and was counted
    assert usage.trashed >= 2 * one
    # A disconnect wipes the runtime disk; the next session starts from Drive.
    session2 = tmp_path / "runtime2" / "run1"
    assert ds.restore_checkpoint(drive, session2) == 12
    assert (session2 / "checkpoint").read_text().startswith('model_checkpoint_path: "model-12"')
    save(session2, 16, keep_old=True)  # a new Saver does not delete the restored model-12
    ds.sync_checkpoint(session2, drive, usage)
    assert on_drive(drive) == [16]
    # A crash mid-copy: the next checkpoint's data is on Drive, its counter is not.
    save(session2, 20)
    (drive / "model-20.data-00000-of-00001").write_bytes(os.urandom(10))
    (drive / ".model-20.index.part").write_bytes(b"x")
    usage.written += 11
    gone = ds.prune_drive_run(drive, usage)  # what the next finetune() does first
    assert gone == [".model-20.index.part", "model-20.data-00000-of-00001"]
    assert on_drive(drive) == [16]
    ds.sync_checkpoint(session2, drive, usage)
    assert on_drive(drive) == [20]
    assert ds.latest_step(drive) == 20
    # written minus trashed is exactly what Drive holds: nothing uncounted, nothing left over
    assert usage.written - usage.trashed == folder_bytes(drive)
    assert not list(drive.glob(".*"))


def test_restore_reads_drive_only_and_keeps_a_newer_local_run(tmp_path):
    drive, local, usage = tmp_path / "drive", tmp_path / "local", ds.DriveUsage()
    save(local, 4)
    ds.sync_checkpoint(local, drive, usage)
    save(local, 8)
    before = {p.name: p.stat().st_mtime_ns for p in drive.iterdir()}
    assert ds.restore_checkpoint(drive, local) == 8  # local is ahead: left alone
    assert ds.restore_checkpoint(drive, tmp_path / "new") == 4
    assert {p.name: p.stat().st_mtime_ns for p in drive.iterdir()} == before


def test_a_checkpoint_without_its_index_is_not_taken_as_latest(tmp_path):
    save(tmp_path, 4)
    (tmp_path / "model-4.index").unlink()
    assert ds.latest_step(tmp_path) is None
    assert ds.restore_checkpoint(tmp_path, tmp_path / "elsewhere") is None


def test_working_copy_flushes_by_count_or_by_minutes_and_trusts_only_its_own_run(tmp_path, monkeypatch):
    now = [0.0]
    monkeypatch.setattr(ds, "CLOCK", lambda: now[0])
    drive, local = tmp_path / "drive" / "c.csv", tmp_path / "local"
    copy = ds.WorkingCopy([drive], local, every=1000, minutes=10)
    work = copy.start()
    for minute in (6, 12):  # the second tick is 12 minutes after the start: a copy, though only 2 of 1000 done
        now[0] = minute * 60
        with open(work, "a") as f:
            f.write(f"row {minute}\n")
        flushed = copy.tick()
    assert flushed and drive.read_text() == "row 6\nrow 12\n" and copy.usage.written == drive.stat().st_size
    # a kernel restart: the working copy is ahead of Drive's and grew from it: kept
    with open(work, "a") as f:
        f.write("row 13\n")
    assert ds.WorkingCopy([drive], local).start().read_text().endswith("row 13\n")
    # Drive's file is not where the working copy started (another run wrote it): Drive's is taken
    drive.write_text("other run\n")
    assert ds.WorkingCopy([drive], local).start().read_text() == "other run\n"
    # RESTART deleted Drive's file: the working copy goes too
    drive.unlink()
    assert not ds.WorkingCopy([drive], local).start().exists()


def test_usage_counts_a_file_or_folder_other_code_rewrites(tmp_path):
    usage = ds.DriveUsage()
    target = tmp_path / "model"
    with usage.writing(target):
        target.mkdir()
        (target / "w").write_bytes(b"x" * 100)
    with usage.writing(target):
        (target / "w").unlink()
        (target / "w").write_bytes(b"y" * 40)
    with usage.writing(target):
        pass  # untouched: nothing counted
    assert (usage.written, usage.trashed) == (140, 100)
