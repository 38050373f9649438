"""Guards every candidate reply passes before a person sees it; each rejection is counted."""
from __future__ import annotations

import difflib
import html
import re
import unicodedata
from collections import Counter

import pandas as pd

# A short default; notebook 07 takes the list as a parameter (add your subreddits' own words).
DEFAULT_BLOCKLIST = (
    "kill yourself", "kys", "retard", "retarded", "idiot", "moron", "shut up", "upvote", "downvote",
    "subscribe", "onlyfans",
)
NEAR_COPY = 0.95  # similarity to the parent comment at or above which a reply is a near-copy
URL = re.compile(r"https?://|www\.|\[[^\]]*\]\([^)]*\)|\b[\w-]+\.(?:com|org|net|io|ly|co|gg|me|tv)\b", re.I)
# leftover prompt markers, whole or in pieces: [SEP], <|...|>, "endoftext"
# pieces are matched glued to words too ("haveSEP]"): GPT-2 writes them without spaces
MARKERS = re.compile(r"\[SEP|SEP\]|\[SE\b|<\||\|>|(?:start|end)oftext", re.I)
# "SEP" glued to a word without its brackets ("haveSEP", "SEPthat"): case-sensitive, so "Sept" passes
GLUED_SEP = re.compile(r"[a-z]SEP\b|\bSEP[a-z]")

# Guard names, in the order they are checked.
GUARDS = ("empty", "markers", "url", "blocklist", "repetition", "near_copy")


# letters that show nothing (blank Braille, Hangul fillers): not format characters, but invisible all the same
BLANK_LETTERS = frozenset("\u2800\u3164\u115f\u1160\uffa0")


def rendered(text) -> str:
    """`text` as Reddit shows it: HTML entities decoded (also twice encoded ones, `&amp;#x200B;`),
    zero-width and other format characters (Unicode category Cf) and blank letters removed,
    whitespace collapsed to single spaces. The guards judge this, not the raw text."""
    if not isinstance(text, str):
        return ""
    for _ in range(3):  # `&amp;#x200B;` -> `&#x200B;` -> U+200B
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    text = "".join(ch for ch in text if ch not in BLANK_LETTERS and unicodedata.category(ch) != "Cf")
    return " ".join(text.split())


def _words(text: str) -> list[str]:
    return re.findall(r"[\w']+", text.lower())


def is_repetitive(text: str) -> bool:
    """A loop: the same 1-4 word run three times in a row, or a long reply with few distinct words."""
    words = _words(text)
    for n in range(1, 5):
        for i in range(len(words) - 3 * n + 1):
            run = words[i:i + n]
            if run == words[i + n:i + 2 * n] == words[i + 2 * n:i + 3 * n]:
                return True
    return len(words) >= 12 and len(set(words)) / len(words) < 0.35


def similarity(a: str, b: str) -> float:
    """0..1, how alike two texts are (case and spacing ignored)."""
    norm = lambda s: " ".join(s.lower().split())  # noqa: E731
    return difflib.SequenceMatcher(None, norm(a), norm(b), autojunk=False).ratio()


def blocked_words(text: str, blocklist) -> list[str]:
    lower = text.lower()
    return [w for w in blocklist if re.search(rf"(?<![\w]){re.escape(w.lower())}(?![\w])", lower)]


def check(reply: str, parent: str, blocklist=DEFAULT_BLOCKLIST) -> list[str]:
    """The names of the guards `reply` fails (empty list: it passes), judged on the text as Reddit
    renders it (`rendered`): a reply of only zero-width characters or `&#x200B;` is empty."""
    reply, parent = rendered(reply), rendered(parent)
    if not reply:
        return ["empty"]
    failed = []
    if MARKERS.search(reply) or GLUED_SEP.search(reply) or reply.count("[") != reply.count("]"):  # a lone "]" is the tail of a split "[SEP]"
        failed.append("markers")
    if URL.search(reply):
        failed.append("url")
    if blocked_words(reply, blocklist):
        failed.append("blocklist")
    if is_repetitive(reply):
        failed.append("repetition")
    if parent and similarity(reply, parent) >= NEAR_COPY:
        failed.append("near_copy")
    return failed


def apply_guards(df: pd.DataFrame, *, reply_col: str = "candidate", parent_col: str = "comment",
                 blocklist=DEFAULT_BLOCKLIST) -> tuple[pd.DataFrame, dict[str, int]]:
    """`df` plus a `guards` column (failed guard names, ";"-joined, "" when it passes), and the
    count of rows each guard rejected (a row failing two guards counts for both)."""
    failed = [check(r, p, blocklist) for r, p in zip(df[reply_col], df[parent_col])]
    counts = Counter(name for names in failed for name in names)
    out = df.assign(guards=[";".join(names) for names in failed])
    return out, {name: int(counts.get(name, 0)) for name in GUARDS}
