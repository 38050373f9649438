"""How long posting's look at the ledger takes when it is many files (one per run): a first read
(`read_entries`, every file parsed and merged) against `Ledger.view()` when no file changed since
its last read (what each row's checks do). Prints both and the ratio.

    python scripts/bench_ledger_read.py [RUNS] [POSTS_PER_RUN]
"""
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers.live.ledger import Ledger, read_entries  # noqa: E402


def main(runs: int = 300, posts: int = 10) -> None:
    root = Path(tempfile.mkdtemp(prefix="ledger-bench-")) / "ledger"
    for r in range(runs):
        ledger = Ledger(root / "posted.jsonl", writer=f"run{r:04d}")
        for k in range(posts):
            ledger.append("posting", f"k{r}_{k}", submission_id="s", subreddit="pics")
            ledger.append("posted", f"k{r}_{k}", submission_id="s", subreddit="pics", reply_id="x")
    start = time.perf_counter()
    n = len(read_entries(root))
    first = time.perf_counter() - start
    reader = Ledger(root / "posted.jsonl")
    reader.view()
    start = time.perf_counter()
    for _ in range(10):
        reader.view()
    again = (time.perf_counter() - start) / 10
    print(f"{runs} files, {n} entries: read_entries {first * 1000:.0f} ms, Ledger.view() unchanged "
          f"{again * 1000:.1f} ms, ratio {first / again:.0f}x")


if __name__ == "__main__":
    main(*map(int, sys.argv[1:3]))
