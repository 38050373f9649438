"""The lines of a block of dump text that name a wanted subreddit: `"subreddit":"<name>"`, any case.

The rule is one regular expression, `SubredditPattern.regex`. Run over every byte it costs about
0.6 s per GB, as much as the rest of the reader together; so the scan first finds the block's
`"subreddit":` keys with numpy (the block's aligned 32-bit words compared with four words of the
key, one for each alignment a key may have; then a second word, and the whole key, checked at
those few places), keeps the keys whose value starts like a wanted name (its first bytes with
ASCII case folded by OR-ing 0x20, which maps both cases of a letter to one byte and leaves `"`
and digits alone) or that whitespace follows, and lets the regex decide there. Every line the
regex alone would find is found, and only those (tests/unit/test_dumps_scan.py).
"""
from __future__ import annotations

import re

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from helpers.core.reddit_terms import check_subreddits

KEY = b'"subreddit":'
_HEAD = np.frombuffer(KEY[:8], "<u8")[0]  # `"subredd`
_TAIL = np.uint64(np.frombuffer(KEY[8:], "<u4")[0])  # `it":`
# A key at p (p % 4 == r) holds a whole 32-bit word of the block at p + SHIFT[r] (a multiple of 4): the
# block's words are compared with these four, then a second word of the key (at p + SHIFT[r] + 4 * STEP[r],
# under MASK[r]) sorts out most other keys that start with "subreddit" (subreddit_id, ...).
_SHIFT = np.array([8, 7, 2, 1])
_WORDS = np.array([int.from_bytes(KEY[s:s + 4], "little") for s in _SHIFT], np.uint32)  # it": dit" ubre subr
_STEP = np.array([-1, 1, 2, 2])
_MASK = np.array([0xFFFFFFFF, 0xFF, 0xFFFF, 0xFFFFFF], np.uint32)
_SECOND = np.array([int.from_bytes(KEY[s + 4 * d:s + 4 * d + 4].ljust(4, b"\0"), "little") for s, d in zip(_SHIFT, _STEP)],
                   np.uint32) & _MASK  # redd : ": t":
_FOLD = np.uint64(0x2020202020202020)
_WINDOW = 24  # bytes looked at from a key's start: the key (12), one byte, a value's first 8 (and 3 spare)


class SubredditPattern:
    """`"subreddit":"<one of the names>"` (any case, whitespace allowed after the colon) in raw NDJSON.

    Not for use from two threads at once (it keeps a scratch array)."""

    def __init__(self, subreddits):
        self.names = check_subreddits(subreddits)
        alternatives = [name.encode() for name in self.names] or [b""]
        self.regex = re.compile(rb'"subreddit":\s*"(?i:' + b"|".join(map(re.escape, alternatives)) + rb')"')
        width = min(8, min(map(len, alternatives)) + 1)  # a value's first bytes that every wanted one has
        self._mask = np.uint64((1 << 8 * width) - 1)
        values = [(a + b'"').ljust(8, b"\0")[:8] for a in alternatives]
        self._starts = np.unique((np.frombuffer(b"".join(values), "<u8") | _FOLD) & self._mask)
        self._hits, self._hit = np.empty(0, bool), np.empty(0, bool)

    def search(self, text, *bounds):
        """The regex's first match in `text` (or None)."""
        return self.regex.search(text, *bounds)

    def lines(self, block, first: int, stop: int) -> list[bytes]:
        """The lines of block[first:stop] (whole lines) in which the regex finds a match, in order, each
        once. A match whose whitespace crosses a line end brings both lines joined, as the regex alone did."""
        lines, last_end = [], -1
        for position in self.keys_to_check(block, first, stop):
            if position < last_end:
                continue  # a second key inside the same line (e.g. a crosspost's parent)
            match = self.regex.match(block, position, stop)
            if match is None:
                continue
            start = block.rfind(b"\n", first, position) + 1 or first
            last_end = block.find(b"\n", match.end(), stop)
            lines.append(bytes(block[start:last_end]))
        return lines

    def keys_to_check(self, block, first: int, stop: int) -> list[int]:
        """Ascending positions in block[first:stop] of every `"subreddit":` key at which the regex may match."""
        aligned = first + (-first) % 4
        count = (stop - aligned) // 4
        if stop - first < len(KEY) or count <= 0:
            return []
        keys = self._key_starts(np.frombuffer(block, "<u4", count, aligned), aligned, first)
        whole = keys[keys + _WINDOW <= stop]
        near_end = keys[len(whole):]  # too close to the end for a whole window: the regex decides
        if len(whole):
            words = sliding_window_view(np.frombuffer(block, np.uint8, stop), _WINDOW)[whole].view("<u8")  # (keys, 3)
            after = (words[:, 1] >> 32) & 0xFF
            start = ((words[:, 1] >> 40) | (words[:, 2] << 24) | _FOLD) & self._mask
            known = self._starts[np.minimum(np.searchsorted(self._starts, start), len(self._starts) - 1)] == start
            space = (after == 32) | ((after >= 9) & (after <= 13))  # what \s matches in a bytes pattern
            key = (words[:, 0] == _HEAD) & ((words[:, 1] & 0xFFFFFFFF) == _TAIL)
            whole = whole[key & (((after == 34) & known) | space)]
        return np.concatenate([whole, near_end]).tolist()

    def _key_starts(self, words, aligned: int, first: int):
        """Sorted starts (>= first) of what may be `"subreddit":` keys, from the block's aligned words."""
        count = len(words)
        if len(self._hits) < count:
            self._hits, self._hit = np.empty(count + (1 << 16), bool), np.empty(count + (1 << 16), bool)
        hits, hit = self._hits[:count], self._hit[:count]
        np.equal(words, _WORDS[0], out=hits)
        for word in _WORDS[1:]:
            np.logical_or(hits, np.equal(words, word, out=hit), out=hits)
        at = np.flatnonzero(hits)
        found = words[at]
        alignment = (found == _WORDS[1]) * 1 + (found == _WORDS[2]) * 2 + (found == _WORDS[3]) * 3
        second = at + _STEP[alignment]
        inside = (second >= 0) & (second < count)
        second_word = words[np.clip(second, 0, count - 1)]
        likely = ~inside | ((second_word & _MASK[alignment]) == _SECOND[alignment])
        starts = np.sort(aligned + 4 * at[likely] - _SHIFT[alignment[likely]])
        return starts[starts >= first]
