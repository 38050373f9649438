"""Which fresh comments get candidate replies: the skip rules, and the bundled offline sample."""
from __future__ import annotations

import json

import pandas as pd

from helpers.core import runtime
from helpers.core.reddit_terms import BOTS, DELETED, check_subreddits
from helpers.live.reddit import Threads, answered

SAMPLE_FILE = runtime.SAMPLE_DIR / "fresh_comments.json"

# Why a post or comment gets no reply, in the order the rules are checked.
SKIP_REASONS = (
    "thread locked or archived",
    "thread already replied (ledger)",
    "thread already replied (live)",
    "comment deleted or removed",
    "comment locked",
    "our own comment",
    "bot or AutoModerator",
    "comment score below minimum",
    "not a top-level comment",
)
# Columns of the comments that get candidates (candidates.csv adds `candidate`, `candidate_tokens`).
ITEM_COLUMNS = ["subreddit", "submission_id", "title", "post_score", "comment_id", "comment_score", "comment"]


def load_sample(subreddits=None) -> tuple[Threads, str]:
    """The bundled synthetic "fresh comments" (no account needed) and a note for the person.

    With `subreddits`, only their posts and comments are kept; when the sample has none of them,
    all of it is kept (so 06 has comments to answer) and the note says plainly which subreddits
    the sample has."""
    data = json.loads(SAMPLE_FILE.read_text(encoding="utf-8"))
    posts, comments = data["posts"], data["comments"]
    has = list(dict.fromkeys(p["subreddit"] for p in posts))
    if not subreddits:
        return Threads(posts, comments, data["me"]), ""
    wanted = {s.lower() for s in check_subreddits(subreddits)}
    kept = [p for p in posts if p["subreddit"].lower() in wanted]
    listed = ", ".join(f"r/{s}" for s in has)
    if not kept:
        return Threads(posts, comments, data["me"]), (
            f"The bundled sample has fresh comments in {listed} only, none of your SUBREDDITS "
            f"({', '.join(check_subreddits(subreddits))}): all of them are used, so that the series has comments to answer.")
    ids = {p["submission_id"] for p in kept}
    missing = [s for s in check_subreddits(subreddits) if s.lower() not in {h.lower() for h in has}]
    note = (f"The bundled sample has no fresh comments in {', '.join(missing)} (it has {listed})." if missing else "")
    return Threads(kept, [c for c in comments if c["submission_id"] in ids], data["me"]), note


def select_comments(threads: Threads, *, replied_threads=(), min_score: int = 4,
                    bots=BOTS, top_level_only: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply the skip rules. Returns (comments to answer, with ITEM_COLUMNS) and (what was
    skipped: kind, id, reason). A thread is skipped whole when it is locked or archived, when
    the ledger says we replied in it (`replied_threads`: submission ids), or when one of its
    comments, or one of our account's recent comments (`threads.my_comments`), is our reply to a
    comment; our other comments (e.g. top level) are skipped one by one.
    `top_level_only`: answer only comments on the post itself (settings.top_level_only, the rule
    notebook 01's data was pulled with)."""
    me = threads.me.lower()
    bots = {b.lower() for b in bots}
    posts = {p["submission_id"]: p for p in threads.posts}
    # threads where one of our comments answers a comment: this bot has been there
    ours = {c["submission_id"] for c in threads.comments
            if str(c["author"]).lower() == me and str(c.get("parent_id", "")).startswith("t1_")}
    ours |= answered(threads.my_comments)[1]  # our replies Reddit folded away, or made from elsewhere
    replied_threads = set(replied_threads)
    skipped, keep = [], []
    for post in threads.posts:
        reason = ("thread locked or archived" if post["locked"] or post["archived"]
                  else "thread already replied (ledger)" if post["submission_id"] in replied_threads
                  else "thread already replied (live)" if post["submission_id"] in ours else None)
        if reason:
            skipped.append({"kind": "thread", "id": post["submission_id"], "reason": reason})
    skipped_threads = {s["id"] for s in skipped}
    for c in threads.comments:
        if c["submission_id"] in skipped_threads or c["submission_id"] not in posts:
            continue
        author = str(c["author"]).lower()
        reason = ("comment deleted or removed" if c["deleted"] or c["comment"] in DELETED or not c["comment"].strip()
                  else "comment locked" if c["locked"]
                  else "our own comment" if author == me
                  else "bot or AutoModerator" if author in bots
                  else "comment score below minimum" if c["comment_score"] < min_score
                  else "not a top-level comment" if top_level_only and not str(c.get("parent_id", "t3_")).startswith("t3_")
                  else None)
        if reason:
            skipped.append({"kind": "comment", "id": c["comment_id"], "reason": reason})
        else:
            keep.append({**{k: posts[c["submission_id"]][k] for k in ("subreddit", "submission_id", "title", "post_score")},
                         "comment_id": c["comment_id"], "comment_score": c["comment_score"], "comment": c["comment"]})
    return pd.DataFrame(keep, columns=ITEM_COLUMNS), pd.DataFrame(skipped, columns=["kind", "id", "reason"])


def skip_counts(skipped: pd.DataFrame) -> dict[str, int]:
    """How many posts/comments each rule skipped (every rule listed, zeros included)."""
    counts = skipped["reason"].value_counts()
    return {reason: int(counts.get(reason, 0)) for reason in SKIP_REASONS}
