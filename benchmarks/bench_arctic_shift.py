"""Benchmark: notebook 01's default Arctic Shift pull, the old client vs ours, in one run.

    PYTHONPATH=. python benchmarks/bench_arctic_shift.py [--comments 12000] [--posts 1000] [--capacity 1000 300 100]

The colab profile's default pull (4 subreddits x 3 months, MAX_ITEMS_PER_MONTH 10,000, one request a
second) against the Arctic Shift stand-in (tests/standins/arctic_shift_standin.py, written from the
API's README: `limit=auto` gives 100-1000 items "depending on the capacity of the server", here
`--capacity`), with synthetic months of `--comments` comments and `--posts` posts per subreddit
(busy enough for the cap to bind, as it does for these subreddits on the real archive):
  old:  the client before issue 19 (helpers/sources/arctic_shift.py at commit 2797dc1, read from git):
        `limit=100`, every field of every item
  ours: helpers.sources.arctic_shift: `limit=auto`, `fields` for comments, a subreddit look-up each
Both run on a virtual clock (its `sleep` adds to it, nothing else does), so "paced seconds" is the
time the one-request-a-second pace costs, without the server's own answer time. Prints requests,
paced seconds and bytes received for both, and the ratios (goal: at least 5x fewer requests).
"""
from __future__ import annotations

import argparse
import calendar
import contextlib
import importlib.util
import io
import random
import subprocess
import sys
import tempfile
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "standins")]

from arctic_shift_standin import ArcticShiftStandIn  # noqa: E402

from helpers.core.settings import make_settings, subreddit_names  # noqa: E402
from helpers.sources import arctic_shift  # noqa: E402
from helpers.sources.pull import PullConfig  # noqa: E402

BASELINE_COMMIT = "2797dc1"  # the last commit before issue 19's changes to the client
WORDS = ("the a to and of I you it is that in this for was on with but my have not be are just so like what "
         "they if can at or do get would one your all about me there people think know an more good time").split()


class Clock:
    """A virtual clock: `sleep` moves it, nothing else does."""

    def __init__(self):
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float):
        self.t += max(seconds, 0.0)


def text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def synthetic(subreddits, months, comments: int, posts: int, seed: int = 0):
    """Posts and comments spread evenly over each month, threads of a comment and replies."""
    rng = random.Random(seed)
    subs, coms = [], []
    for sub in subreddits:
        for month in months:
            year, mon = map(int, month.split("-"))
            start = calendar.timegm((year, mon, 1, 0, 0, 0))
            length = calendar.monthrange(year, mon)[1] * 86400
            ids = [f"{sub[:3]}{month}p{i}" for i in range(posts)]
            for i, pid in enumerate(ids):
                subs.append(dict(id=pid, title=text(rng, 8), selftext=text(rng, 60), author=f"op{i}", subreddit=sub,
                                 created_utc=start + i * length // posts, score=rng.randint(0, 50), is_self=True,
                                 domain=f"self.{sub}", url=f"https://www.reddit.com/r/{sub}/comments/{pid}/",
                                 num_comments=comments // posts, over_18=False, spoiler=False))
            for i in range(comments):
                link = ids[min(i * posts // comments, posts - 1)]
                parent = f"t3_{link}" if i % 3 == 0 else f"t1_{sub[:3]}{month}c{i - 1}"
                coms.append(dict(id=f"{sub[:3]}{month}c{i}", link_id=f"t3_{link}", parent_id=parent, author=f"u{i % 997}",
                                 body=text(rng, rng.randint(10, 60)), score=rng.randint(-2, 40), subreddit=sub,
                                 created_utc=start + i * length // comments))
    return subs, coms


def old_client():
    """The client before issue 19, loaded from git, on a virtual clock."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{BASELINE_COMMIT}:helpers/sources/arctic_shift.py"],
                            check=True, capture_output=True, text=True).stdout
    # the one helper it used that has moved since (exchange.write_json -> core/files.py, the same function)
    source = source.replace("from helpers.core.exchange import write_json", "from helpers.core.files import write_json")
    spec = importlib.util.spec_from_loader("arctic_shift_before_issue_19", loader=None)
    module = importlib.util.module_from_spec(spec)
    exec(compile(source, f"{BASELINE_COMMIT}:helpers/sources/arctic_shift.py", "exec"), module.__dict__)
    return module


def run(side: str, url: str, cfg: PullConfig, subreddits, folder: Path, old) -> dict:
    with contextlib.redirect_stdout(io.StringIO()):  # the per-month notes ("cut at ...")
        return _run(side, url, cfg, subreddits, folder, old)


def _run(side: str, url: str, cfg: PullConfig, subreddits, folder: Path, old) -> dict:
    clock = Clock()
    if side == "old":
        old.time = types.SimpleNamespace(monotonic=clock.now, time=__import__("time").time, sleep=clock.sleep)
        api = old.ArcticShift(url, min_interval=cfg.arctic_seconds_per_request, sleep=clock.sleep)
        _, comments, report = old.fetch(api, folder, subreddits, cfg.months, max_items=cfg.max_items_per_month,
                                        progress=False)
    else:
        api = arctic_shift.ArcticShift(url, arctic_shift.Options(min_interval=cfg.arctic_seconds_per_request),
                                       sleep=clock.sleep, clock=clock.now)
        _, comments, report = arctic_shift.fetch(api, folder, subreddits, cfg.months,
                                                 max_items=cfg.max_items_per_month, progress=False)
    assert not report["failed_months"], report["failed_months"]
    return {"requests": api.requests, "paced": clock.t, "comments": len(comments)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--comments", type=int, default=12_000, help="comments per subreddit and month")
    parser.add_argument("--posts", type=int, default=1_000, help="posts per subreddit and month")
    parser.add_argument("--capacity", type=int, nargs="+", default=[1000, 300, 100],
                        help="items the stand-in gives a `limit=auto` request (the API: 100-1000)")
    args = parser.parse_args(argv)
    cfg, subreddits = PullConfig.for_profile("colab"), subreddit_names(make_settings("colab").subreddits)
    print(f"01's default pull: {len(subreddits)} subreddits x {len(cfg.months)} months, cap "
          f"{cfg.max_items_per_month:,}, {cfg.arctic_seconds_per_request:g} s a request; "
          f"{args.comments:,} comments and {args.posts:,} posts per subreddit-month on the stand-in")
    subs, coms = synthetic(subreddits, cfg.months, args.comments, args.posts)
    old = old_client()
    print(f"{'capacity':>8} {'side':>5} {'requests':>9} {'paced s':>9} {'MB recv':>8} {'comments':>9}")
    for capacity in args.capacity:
        results = {}
        for side in ("old", "ours"):
            with ArcticShiftStandIn(subs, coms) as server, tempfile.TemporaryDirectory() as tmp:
                server.capacity = capacity
                results[side] = run(side, server.url, cfg, subreddits, Path(tmp), old)
                results[side]["bytes"] = server.sent_bytes
            r = results[side]
            print(f"{capacity:>8} {side:>5} {r['requests']:>9,} {r['paced']:>9,.0f} {r['bytes'] / 1e6:>8.1f} {r['comments']:>9,}")
        o, n = results["old"], results["ours"]
        print(f"{capacity:>8} ratio {o['requests'] / n['requests']:>8.1f}x {o['paced'] / max(n['paced'], 1e-9):>8.1f}x "
              f"{o['bytes'] / n['bytes']:>7.1f}x   (old / ours)")


if __name__ == "__main__":
    main()
