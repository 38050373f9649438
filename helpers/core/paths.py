"""The single source of every file and folder name the notebooks exchange.

`drive_layout.md` documents the same tree; tests/unit/test_paths.py fails when the two disagree.
Names in braces are filled in per call: `paths.file("candidates", date="2026-11-22")`.
"""
from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

# Notebook file names for the whole series, in order (without ".ipynb").
NOTEBOOKS = (
    "01_pull_data",
    "02_finetune_gpt2",
    "03_generate_fakes",
    "04_bert_realism",
    "05_bert_upvotes",
    "06_generate_candidates",
    "07_score_review_post",
    "08_feedback",
)
YOU = "you"  # files a person puts there by hand


@dataclass(frozen=True)
class Entry:
    key: str
    pattern: str  # relative to the Drive root; a trailing "/" marks a folder
    producer: str  # the notebook (or "you", or "runner") that writes it
    holds: str


LAYOUT = (
    Entry("praw_ini", "praw.ini", YOU, "optional Reddit credentials (section [bot]) if not in Colab Secrets"),
    Entry("dumps", "raw/", YOU, "Reddit dump files: `RC_YYYY-MM.zst`/`RS_YYYY-MM.zst` or `<sub>_comments.zst`/`<sub>_submissions.zst`"),
    Entry("gpt2_finetune", "prepared/gpt2_finetune.csv", "01_pull_data", "fine-tuning text, one 'comment [SEP] reply' per row, with thread ids"),
    Entry("gpt2_generate", "prepared/gpt2_generate.csv", "01_pull_data", "unique comments that seed the fake replies"),
    Entry("bert_real", "prepared/bert_real.csv", "01_pull_data", "real (comment, reply) pairs with reply score and rating bin"),
    Entry("bert_fake", "prepared/bert_fake.csv", "03_generate_fakes", "GPT-2 replies to the seed comments, real=0"),
    Entry("gpt2_run", "models/gpt2/{run}/", "02_finetune_gpt2", "fine-tuned GPT-2 checkpoints (gpt-2-simple run folder)"),
    Entry("bert_encoder", "models/bert_encoder/{name}/", "04_bert_realism", "locally built BERT encoder SavedModel (tiny profile)"),
    Entry("bert_realism", "models/bert_realism/", "04_bert_realism", "realism classifier SavedModel"),
    Entry("bert_upvotes", "models/bert_upvotes/", "05_bert_upvotes", "upvote classifier SavedModel"),
    Entry("bert_backup", "models/bert_backup/{model}/", "04_bert_realism", "training backup of 04 (`realism`) and 05 (`upvotes`): the weights, only when training runs long (see docs/drive.md); removed when training ends"),
    Entry("candidates", "runs/{date}/candidates.csv", "06_generate_candidates", "candidate replies to fresh comments"),
    Entry("scored", "runs/{date}/scored.csv", "07_score_review_post", "candidates with realism and upvote scores"),
    Entry("review", "runs/{date}/review.csv", "07_score_review_post", "replies proposed for posting; a person sets `approved`"),
    Entry("ledger", "ledger/", "07_score_review_post",
          "posting ledger, one append-only file per run (`posted-<time>-<host>-<random>.jsonl`; older versions' single `posted.jsonl` still read), read as one by `helpers.live.ledger.read_entries`: posting / posted / failed / gave_up (and dry_run)"),
    Entry("proposals", "runs/{date}/proposals.csv", "07_score_review_post", "every reply 07 proposed (not for editing): posting refuses rows not in it"),
    Entry("lease", "ledger/lease.json", "07_score_review_post", "posting lease: which run may post now (owner, heartbeat, expiry)"),
    Entry("stop", "ledger/STOP", YOU, "create this file (any content) to stop posting before the next post"),
    Entry("summary", "runs/{notebook}/summary.json", "every notebook", "run summary: counts, timings, metrics, settings, versions"),
    Entry("executed", "runs/{notebook}/{notebook}.ipynb", "runner", "executed copy of a notebook from a headless run"),
    Entry("feedback", "feedback/{source}_fetches.csv", "08_feedback", "the posted replies' state, one row per reply per fetch, appended (`{source}`: reddit or sample)"),
    Entry("bert_feedback", "prepared/bert_feedback_{source}.csv", "08_feedback", "posted replies with their parent and real score, for notebook 05's ADD_FEEDBACK"),
    Entry("prepared_manifest", "prepared/manifest.json", "01_pull_data", "which run wrote the prepared set: run id, source, subreddits, months, rows and sha256 of each file"),
    Entry("arctic_raw", "raw/arctic_shift/", "01_pull_data", "pages fetched from Arctic Shift's API, per subreddit and month (a rerun resumes from them)"),
    Entry("fake_candidates", "prepared/gpt2_fake_candidates.csv", "03_generate_fakes", "GPT-2 candidates per seed comment, copied here from the runtime disk every 100 comments (resumable)"),
)
ENTRIES = {e.key: e for e in LAYOUT}


def placeholders(pattern: str) -> set[str]:
    """The `{names}` a pattern needs."""
    return {name for _, name, _, _ in string.Formatter().parse(pattern) if name}


class Paths:
    """Paths under one Drive root."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def file(self, key: str, **fields: str) -> Path:
        """The path of entry `key`, with its `{placeholders}` filled from `fields`: exactly the names
        its pattern in LAYOUT has (`date`, `notebook`, ...); a missing or other name is a KeyError naming them."""
        if key not in ENTRIES:
            raise KeyError(f"unknown drive entry {key!r}; known: {', '.join(ENTRIES)}")
        pattern = ENTRIES[key].pattern
        missing = placeholders(pattern) - fields.keys()
        if missing:
            raise KeyError(f"{pattern} needs {', '.join(sorted(missing))}")
        unknown = sorted(fields.keys() - placeholders(pattern))
        if unknown:
            takes = ", ".join(sorted(placeholders(pattern))) or "no fields"
            raise KeyError(f"{pattern} has no placeholder {', '.join(unknown)}: it takes {takes}")
        return self.root / pattern.format(**fields)

    def relative(self, path: Path) -> str:
        """`path` as shown to people: relative to the Drive root when inside it."""
        try:
            return str(Path(path).relative_to(self.root))
        except ValueError:
            return str(path)

    def __repr__(self) -> str:
        return f"Paths({str(self.root)!r})"


def layout_table(paths: Paths):
    """A table of the Drive layout: each entry, its path, whether it exists yet, who writes it."""
    import pandas as pd

    rows = []
    for e in LAYOUT:
        rel = e.pattern
        on_disk = sorted(paths.root.glob(rel.rstrip("/").format(**{k: "*" for k in placeholders(rel)})))
        rows.append({"entry": e.key, "path": rel, "written by": e.producer, "present": len(on_disk), "holds": e.holds})
    return pd.DataFrame(rows)
