"""The review step of notebook 07: selecting one reply per post from the scored candidates, the
proposals a notebook made (`runs/<date>/proposals.csv`, never edited by people), the review file a
person edits (`runs/<date>/review.csv`, by hand, in a spreadsheet or with the form), reading it back
tolerantly with errors that say what to fix, and the prediction a proposal carries into the ledger.
"""
from __future__ import annotations

import html
import json
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from helpers.core import exchange, files
from helpers.core.paths import Paths
from helpers.core.reddit_terms import PREDICTION_COLUMNS, upgrade_columns

REVIEW_COLUMNS = ["subreddit", "submission_id", "title", "comment_id", "comment", "reply", "prob_real",
                  "expected_rating_bin", "approved"]
# what people and spreadsheets write for yes (TRUE in Excel's languages, 1.0 from a number column, ticks)
YES = {"yes", "y", "true", "1", "1.0", "x", "approve", "approved", "ok", "✓", "✔", "☑", "wahr", "vrai", "oui", "ja",
       "sí", "si", "sim", "verdadero", "vero", "waar", "sant", "prawda"}


class ReviewFileError(exchange.ExchangeError):
    """review.csv was edited into something that cannot be read; the message says how to fix it."""


def is_yes(value) -> bool:
    return str(value).strip().lower() in YES


def model_ids(paths: Paths, gpt2_run: str = "") -> dict[str, str]:
    """Identifiers of the models behind a prediction: folder name @ modification time (UTC) of the
    exported model, "" when unknown. `gpt2_run` is notebook 06's RUN_NAME (from its summary if "")."""
    def stamp(path: Path) -> str:
        return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if path.exists() else ""

    if not gpt2_run:
        summary = paths.file("summary", notebook="06_generate_candidates")
        try:
            gpt2_run = json.loads(summary.read_text(encoding="utf-8")).get("gpt2_run", "") or ""
        except (OSError, ValueError):
            gpt2_run = ""
    ids = {}
    for key in ("bert_realism", "bert_upvotes"):
        when = stamp(paths.file(key) / "saved_model.pb")
        ids[key.replace("bert_", "") + "_model"] = f"{key}@{when}" if when else ""
    when = stamp(paths.file("gpt2_run", run=gpt2_run) / "checkpoint") if gpt2_run else ""
    ids["gpt2_run"] = f"{gpt2_run}@{when}" if when else gpt2_run
    return ids


def select_replies(scored: pd.DataFrame, *, min_prob_real: float, max_chars: int,
                   reply_col: str = "candidate") -> pd.DataFrame:
    """As the original: keep replies with prob_real above `min_prob_real` and shorter than
    `max_chars`, then the one with the highest expected rating bin per post."""
    ok = scored[(scored["prob_real"] > min_prob_real) & (scored[reply_col].str.len() < max_chars)]
    best = ok.sort_values("expected_rating_bin", ascending=False, kind="stable").drop_duplicates("submission_id")
    return best.reset_index(drop=True)


def proposals(selected: pd.DataFrame, reply_col: str = "candidate", *, realism_model: str | None = None,
              upvotes_model: str | None = None, gpt2_run: str | None = None) -> pd.DataFrame:
    """The review table for `selected`: every row starts not approved ("no"); the prediction
    columns (p0..p3 and the model identifiers of `model_ids`, those given) are carried along."""
    given = {"realism_model": realism_model, "upvotes_model": upvotes_model, "gpt2_run": gpt2_run}
    out = selected.rename(columns={reply_col: "reply"}).assign(
        approved="no", **{name: value for name, value in given.items() if value is not None})
    extra = [c for c in PREDICTION_COLUMNS if c in out.columns and c not in REVIEW_COLUMNS]
    return out[REVIEW_COLUMNS + extra].reset_index(drop=True)


def _set_aside_advice(shown: str) -> str:
    return (f"{shown} is yours (a person edits it), so rerunning 07 alone cannot repair it. Either fix it "
            f"(open it in a text editor to see what changed; it needs the columns {', '.join(REVIEW_COLUMNS)}), "
            f"or rename it to review.broken.csv and then rerun 07_score_review_post for fresh proposals "
            "(approvals in the renamed file are not carried over: copy them back by hand).")


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):  # spreadsheets on Windows save "CSV" in cp1252
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def read_review(paths: Paths, date: str) -> pd.DataFrame:
    """review.csv as a person left it: a BOM, ";" or tab separators, CRLF line ends and decimal
    commas (what spreadsheets write) are accepted; anything unreadable is a ReviewFileError."""
    import io

    path = paths.file("review", date=date)
    shown = paths.relative(path)
    if not path.is_file():
        raise ReviewFileError(f"{shown} not found in {paths.root}. It is written by 07_score_review_post: "
                              "run that notebook first, with the same Drive folder.")
    text = _decode(path.read_bytes())
    header = text.splitlines()[0] if text.strip() else ""
    sep = max((",", ";", "\t"), key=header.count)
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, sep=sep)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise ReviewFileError(f"{shown} is not a readable CSV ({str(error).strip()}). " + _set_aside_advice(shown)) from None
    df.columns = [str(c).strip() for c in df.columns]
    df = upgrade_columns(df)
    for column in ("prob_real", "expected_rating_bin", "p0", "p1", "p2", "p3"):
        if column in df.columns:
            df[column] = df[column].str.strip().str.replace(r"^(-?\d+),(\d+)$", r"\1.\2", regex=True)
    try:
        return exchange.check_table(df, "review", shown, "07_score_review_post")
    except exchange.ExchangeError as error:
        what = str(error).split("; it is written by")[0]
        raise ReviewFileError(f"{what}. " + _set_aside_advice(shown)) from None


def read_proposals(paths: Paths, date: str) -> pd.DataFrame:
    """What notebook 07 proposed for `date` (empty when it proposed nothing yet)."""
    path = paths.file("proposals", date=date)
    if not path.is_file():
        return pd.DataFrame(columns=REVIEW_COLUMNS)
    return upgrade_columns(pd.read_csv(path, dtype=str, keep_default_na=False))


def write_review(paths: Paths, date: str, new: pd.DataFrame) -> pd.DataFrame:
    """Record `new` in proposals.csv (the notebook's own list, which posting checks rows
    against) and in review.csv. Rows already in review.csv stay exactly as the person left them
    (approval and any edit of the reply); proposals for posts not in the file yet are added below."""
    path = paths.file("review", date=date)
    if path.is_file():
        old = read_review(paths, date)
        new_rows = new[~new["submission_id"].isin(old["submission_id"])]
        review = pd.concat([old, new_rows], ignore_index=True)
    else:
        review = new
    known = read_proposals(paths, date)
    record = pd.concat([known, new[~new["comment_id"].isin(known.get("comment_id", []))].astype(str)], ignore_index=True)
    with files.atomic_path(paths.file("proposals", date=date)) as tmp:
        record.to_csv(tmp, index=False)
    exchange.write_table(review, paths, "review", date=date)
    return read_review(paths, date)


def approved(review: pd.DataFrame) -> pd.DataFrame:
    """The rows a person approved (`approved` set to yes/true/1/x)."""
    return review[review["approved"].map(is_yes)].reset_index(drop=True)


def prediction(row: dict, proposed: dict) -> dict:
    """The prediction made when the reply was proposed (the notebook's record first, then the
    row): numbers as floats (None when absent), model identifiers as text ("" when unknown)."""
    out = {}
    for name in PREDICTION_COLUMNS:
        value = proposed.get(name, row.get(name, ""))
        if name.endswith("_model") or name == "gpt2_run":
            out[name] = "" if value is None else str(value)
            continue
        try:
            out[name] = float(value)
        except (TypeError, ValueError):
            out[name] = None
    return out


def review_widget(paths: Paths, date: str):
    """An ipywidgets form (for Colab; works with ipywidgets 7.x, as Colab ships, and 8.x): each
    proposed reply with its scores, an editable text and an "approve" box; "Save" writes the same
    review.csv a person could edit by hand, matching rows by comment id, and says what it did."""
    import ipywidgets as w

    review = read_review(paths, date)
    boxes, texts, rows, ids = [], [], [], []
    for row in review.itertuples():
        head = w.HTML(
            f"<b>r/{html.escape(str(row.subreddit))}</b>: {html.escape(str(row.title))}<br>"
            f"<i>comment:</i> {html.escape(str(row.comment))}<br>"
            f"realism {float(row.prob_real):.2f} · expected rating bin {float(row.expected_rating_bin):.2f} of 3"
        )
        text = w.Textarea(value=str(row.reply), layout=w.Layout(width="100%"))
        box = w.Checkbox(value=is_yes(row.approved), description="approve")
        boxes.append(box)
        texts.append(text)
        ids.append(str(row.comment_id))
        rows.append(w.VBox([head, text, box]))
    status = w.HTML(value="" if len(review) else "no proposals to review")
    save = w.Button(description="Save review.csv", button_style="primary")

    def on_save(_=None):
        try:
            current = read_review(paths, date)
            index = {cid: i for i, cid in enumerate(current["comment_id"])}
            missing = [cid for cid in ids if cid not in index]
            for cid, box, text in zip(ids, boxes, texts):
                if cid in index:
                    current.loc[index[cid], "approved"] = "yes" if box.value else "no"
                    current.loc[index[cid], "reply"] = text.value
            exchange.write_table(current, paths, "review", date=date)
        except (exchange.ExchangeError, OSError) as error:
            status.value = f"<b style='color:#b00'>not saved:</b> {html.escape(str(error))}"
            return
        empty = [cid for cid, box, text in zip(ids, boxes, texts) if box.value and not text.value.strip()]
        note = f"; {len(missing)} row(s) no longer in the file were not saved" if missing else ""
        note += f"; approved with an empty reply (will not be posted): {', '.join(empty)}" if empty else ""
        status.value = f"saved: {sum(b.value for b in boxes)} of {len(boxes)} approved{html.escape(note)}"

    save.on_click(on_save)
    form = w.VBox(rows + [w.HBox([save, status])])
    form.checkboxes, form.texts, form.save_button, form.status = boxes, texts, save, status
    return form


