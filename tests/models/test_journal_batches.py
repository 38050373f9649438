"""03 and 06 write their candidates on the runtime disk and copy them to Drive in batches: a Drive
stand-in watching the file operations counts the Drive revisions and bytes; a killed process (an
error path that never flushes), a lost runtime and a kernel restart each resume with every comment
once and the rows of a run never interrupted."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from helpers.gpt2 import journal
from helpers.gpt2.sampling_config import SamplingConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "standins"))
from drive_meter import DriveMeter  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CHILD = r'''
import json, os, sys
from pathlib import Path
import pandas as pd
from helpers.gpt2 import journal
from helpers.gpt2.sampling_config import SamplingConfig

class Reply:
    def __init__(self, text):
        self.text, self.tokens = text, len(text.split())

class Engine:
    """Deterministic replies by key; with `die_at`, the process dies (no cleanup) at that comment."""
    comments_per_run = 4
    def __init__(self, die_at=None):
        self.die_at, self.seen = die_at, 0
    def generate(self, comments, n, keys, comments_per_run, **sampling):
        out = []
        for comment, key in zip(comments, keys):
            if self.die_at is not None and self.seen >= self.die_at:
                os._exit(3)  # a lost runtime or a killed kernel: no finally runs
            self.seen += 1
            out.append([Reply(f"reply {j} to {key}: " + "words " * (5 + j)) for j in range(n)])
        return out

args = json.loads(sys.argv[1])
items = pd.DataFrame({"comment_id": [f"c{i:03d}" for i in range(args["comments"])],
                      "comment": [f"comment number {i} " + "text " * 20 for i in range(args["comments"])]})
out = Path(args["out"])
if args.get("local"):
    out = journal.DriveBatches(out, Path(args["local"]), every=args["every"], minutes=60)
df = journal.generate_resumable(Engine(args.get("die_at")), items, "comment_id", "comment", out, SamplingConfig.for_profile("tiny", candidates_per_comment=3), progress=False)
print("ROWS", len(df))
'''


def child(**args) -> int:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-c", CHILD, json.dumps(args)], env=env, capture_output=True,
                          text=True, timeout=120).returncode


class Reply:
    def __init__(self, text):
        self.text, self.tokens = text, len(text.split())


class Engine:
    comments_per_run = 4

    def __init__(self, fail_at=None):
        self.fail_at, self.seen = fail_at, 0

    def generate(self, comments, n, keys, comments_per_run, **sampling):
        out = []
        for key in keys:
            if self.fail_at is not None and self.seen >= self.fail_at:
                raise RuntimeError("out of memory, say")
            self.seen += 1
            out.append([Reply(f"reply {j} to {key}: " + "words " * (5 + j)) for j in range(n)])
        return out


ITEMS = pd.DataFrame({"comment_id": [f"c{i:03d}" for i in range(250)],
                      "comment": [f"comment number {i} " + "text " * 20 for i in range(250)]})


def test_batched_drive_copies_replace_one_revision_per_comment(tmp_path):
    """Written straight to Drive, each comment is two appends (CSV and log): 500 new revisions for
    250 comments. Batched by 100: 3 copies of each file, no append on Drive at all."""
    (tmp_path / "drive").mkdir()
    with DriveMeter(tmp_path / "drive") as direct:
        journal.generate_resumable(Engine(), ITEMS, "comment_id", "comment", tmp_path / "drive" / "a.csv", SamplingConfig.for_profile("tiny", candidates_per_comment=3),
                                   progress=False)
    assert direct.revisions >= 500
    target = journal.DriveBatches(tmp_path / "drive" / "b.csv", tmp_path / "local", every=100, minutes=60)
    with DriveMeter(tmp_path / "drive") as batched:
        df = journal.generate_resumable(Engine(), ITEMS, "comment_id", "comment", target, SamplingConfig.for_profile("tiny", candidates_per_comment=3), progress=False)
    assert batched.revisions == 0 and target.usage.files.count("b.csv") == 3
    assert batched.as_dict() == {"written": target.usage.written, "trashed": target.usage.trashed}
    final = (tmp_path / "drive" / "b.csv").stat().st_size
    assert batched.trashed < 1.5 * final  # the two earlier copies (2/5 and 4/5 of it) and their logs
    pd.testing.assert_frame_equal(df, journal.read_candidates(tmp_path / "drive" / "a.csv"))
    assert (tmp_path / "drive" / "b.csv").read_bytes() == (tmp_path / "drive" / "a.csv").read_bytes()
    assert "every 100 comments or 60 minutes" in target.says()


def test_an_error_flushes_what_was_done(tmp_path):
    target = journal.DriveBatches(tmp_path / "drive" / "b.csv", tmp_path / "local", every=100, minutes=60)
    try:
        journal.generate_resumable(Engine(fail_at=150), ITEMS, "comment_id", "comment", target, SamplingConfig.for_profile("tiny", candidates_per_comment=3), progress=False)
    except RuntimeError:
        pass
    on_drive = journal.read_candidates(tmp_path / "drive" / "b.csv")
    assert on_drive["comment_id"].nunique() == 148  # all done before the error (runs of 4: 37 runs)


def test_a_lost_runtime_loses_at_most_one_batch_and_a_kernel_restart_nothing(tmp_path):
    whole = tmp_path / "whole.csv"
    assert child(out=str(whole), comments=250) == 0
    drive, local = tmp_path / "drive" / "b.csv", tmp_path / "local"
    assert child(out=str(drive), local=str(local), every=100, comments=250, die_at=170) == 3
    assert journal.read_candidates(drive)["comment_id"].nunique() == 100  # the last batch copied
    # a kernel restart: the runtime disk still holds the working copy: nothing lost
    assert child(out=str(drive), local=str(local), every=100, comments=250, die_at=30) == 3
    assert journal.read_candidates(local / "b.csv")["comment_id"].nunique() == 196  # 168 kept + 28 more
    assert journal.read_candidates(drive)["comment_id"].nunique() == 100  # no batch full since the restart
    # the runtime is lost, its disk with it: Drive's copy (100 comments) is where the rerun starts
    import shutil

    shutil.rmtree(local)
    assert child(out=str(drive), local=str(local), every=100, comments=250) == 0
    assert drive.read_bytes() == whole.read_bytes()  # every comment once, as a run never interrupted
