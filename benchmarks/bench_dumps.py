"""Benchmark: our dump reader vs raw zstd decompression, in one run.

    PYTHONPATH=. python benchmarks/bench_dumps.py [--lines 1000000] [--keep FILE]

Builds a Reddit-like comment dump (`RC_2019-01.zst`, compact NDJSON lines with the fields of
Pushshift's 2019 comments, 2% of lines in the 4 wanted subreddits, the rest spread
over 2,000 others, written by the zstd CLI
with `--long=31` like the real dumps), then measures lines per second of
  baseline: `zstd -dc --long=31 FILE > /dev/null`  (the dumps need --long=31 or --memory=2048MB)
  ours:     helpers.sources.dumps.read_file(...) keeping 4 subreddits (a `zstd` child decompresses; this
            process counts lines, finds the `"subreddit":` keys naming a wanted subreddit, parses those lines)
and prints both and the ratio (target: ours >= 70% of the baseline), and the CPU seconds of each
side (load-independent: on two free cores the pipeline runs at the pace of its slower side). Best of --repeat runs each,
interleaved so both sides see the same load on a shared machine.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from helpers.sources import dumps

WANTED = ["cooking", "buildapc", "CasualConversation", "personalfinance"]
WANTED_SHARE = 0.02  # share of lines in the wanted subreddits (all four together are ~1-2% of Reddit)
WORDS = ("the a to and of I you it is that in this for was on with but my have not be are just so like what "
         "they if can at or do get would one your all about me there people think know an more good time "
         "really from will when out some no because up how make them he it's don't I'm even also much").split()
LINE = ('{{"all_awardings":[],"associated_award":null,"author":"{author}","author_created_utc":{acu},'
        '"author_flair_background_color":null,"author_flair_css_class":null,"author_flair_richtext":[],'
        '"author_flair_template_id":null,"author_flair_text":null,"author_flair_text_color":null,'
        '"author_flair_type":"text","author_fullname":"t2_{afn}","author_patreon_flair":false,"body":{body},'
        '"can_gild":true,"can_mod_post":false,"collapsed":false,"collapsed_reason":null,"controversiality":0,'
        '"created_utc":{created},"distinguished":null,"edited":false,"gilded":0,"gildings":{{}},"id":"{id}",'
        '"is_submitter":false,"link_id":"t3_{link}","locked":false,"no_follow":true,"parent_id":"{parent}",'
        '"permalink":"/r/{sub}/comments/{link}/_/{id}/","retrieved_on":{retrieved},"score":{score},'
        '"send_replies":true,"stickied":false,"subreddit":"{sub}","subreddit_id":"t5_{sid}",'
        '"subreddit_name_prefixed":"r/{sub}","subreddit_type":"public","total_awards_received":0}}\n')


def b36(n: int) -> str:
    digits, out = "0123456789abcdefghijklmnopqrstuvwxyz", ""
    while n:
        n, d = divmod(n, 36)
        out = digits[d] + out
    return out


def build(path: Path, lines: int, seed: int = 0) -> Counter:
    """Write the dump through `zstd --long=31`; returns lines per wanted subreddit."""
    rng = random.Random(seed)
    subs = WANTED + [f"sub{b36(i)}" for i in range(2000)]
    weights = [0.0] * len(WANTED) + [1.0 / (i + 10) for i in range(2000)]  # Zipf-like spread of the others
    bodies = [json.dumps(" ".join(rng.choices(WORDS, k=rng.randint(3, 60)))) for _ in range(5000)]
    authors = [f"user_{b36(rng.randrange(36**6))}" for _ in range(20000)]
    counts: Counter = Counter()
    zstd = subprocess.Popen(["zstd", "-q", "-3", "-T2", "--long=31", "-o", str(path), "-f"], stdin=subprocess.PIPE)
    batch = []
    picks = rng.choices(range(len(subs)), weights=weights, k=lines)
    picks = [rng.randrange(len(WANTED)) if rng.random() < WANTED_SHARE else s for s in picks]
    for i, s in enumerate(picks):
        sub = subs[s]
        if s < len(WANTED):
            counts[sub] += 1
        cid = b36(36**6 + i * 7)
        batch.append(LINE.format(author=authors[i % 20000], acu=1300000000 + i, afn=b36(i + 99999), body=bodies[i % 5000],
                                 created=1546300800 + i * 2, id=cid, link=b36(36**5 + i // 20), sub=sub,
                                 parent=f"t1_{b36(36**6 + max(i - 3, 0) * 7)}" if i % 3 else f"t3_{b36(36**5 + i // 20)}",
                                 retrieved=1550000000 + i, score=(i * 7919) % 50 - 3, sid=b36(1000 + s)))
        if len(batch) == 20000:
            zstd.stdin.write("".join(batch).encode())
            batch = []
    zstd.stdin.write("".join(batch).encode())
    zstd.stdin.close()
    if zstd.wait() != 0:
        sys.exit("zstd failed while writing the benchmark dump")
    return counts


def busy_seconds() -> float | None:
    """CPU seconds all processes of the machine have spent so far (Linux /proc/stat), or None."""
    try:
        with open("/proc/stat") as f:
            user, nice, system, idle, iowait, irq, softirq, steal = map(int, f.readline().split()[1:9])
    except (OSError, ValueError):
        return None
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def our_seconds() -> float:
    import resource

    return sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
               for f in ("ru_utime", "ru_stime"))


def best_of(fns, repeat: int) -> list[tuple[float, float | None]]:
    """(best time, cores other processes kept busy meanwhile) of each function, runs interleaved
    (a, b, a, b, ...) so both see the same load. Our pipeline needs two free cores: a busy
    process elsewhere slows it, not the one-process baseline, and this says when that happened."""
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, spent in zip(fns, times):
            busy, ours, start = busy_seconds(), our_seconds(), time.perf_counter()
            fn()
            wall = time.perf_counter() - start
            others = None if busy is None else max(busy_seconds() - busy - (our_seconds() - ours), 0.0) / wall
            spent.append((wall, others))
    return [min(t, key=lambda run: run[0]) for t in times]


def load() -> str:
    return "load average %.2f %.2f %.2f on %d cores" % (*os.getloadavg(), os.cpu_count())


def cpu_seconds(side) -> tuple[float, float]:
    """(CPU seconds of this process, CPU seconds of its children) spent running `side` once."""
    import resource

    before, here = resource.getrusage(resource.RUSAGE_CHILDREN), time.process_time()
    side()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() - here, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="comment lines in the dump (>= 1M for the figures)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side; the best is reported")
    parser.add_argument("--keep", type=Path, help="keep the dump at this path (reused when it exists)")
    args = parser.parse_args(argv)
    if not shutil.which("zstd"):
        sys.exit("the zstd command-line tool is needed (apt-get install zstd)")
    work = Path(tempfile.mkdtemp(prefix="bench-dumps-"))
    path = args.keep or work / "RC_2019-01.zst"
    try:
        start = time.perf_counter()
        expected = build(path, args.lines) if not path.exists() else None
        print(f"dump: {args.lines:,} comment lines, {path.stat().st_size / 1e6:.1f} MB compressed "
              f"(built in {time.perf_counter() - start:.1f} s)")

        def baseline():
            with open(path, "rb") as f:
                subprocess.run(["zstd", "-dc", "--long=31"], stdin=f, stdout=subprocess.DEVNULL, check=True)

        kept = []

        def ours():
            drops = Counter()
            rows = dumps.read_file(path, "comments", dumps.subreddit_pattern(WANTED), {s.lower() for s in WANTED},
                                   None, drops)
            kept[:] = [len(rows), drops["lines_read"]]

        (t_zstd, others_zstd), (t_ours, others_ours) = best_of([baseline, ours], args.repeat)
        assert kept[1] == args.lines, f"reader counted {kept[1]} lines, expected {args.lines}"
        if expected is not None:
            assert kept[0] == sum(expected.values()), f"reader kept {kept[0]} rows, expected {sum(expected.values())}"
        zstd_rate, our_rate = args.lines / t_zstd, args.lines / t_ours
        print(f"baseline  zstd -dc --long=31 FILE > /dev/null : {zstd_rate:12,.0f} lines/s ({t_zstd:.2f} s)")
        print(f"ours      dumps.read_file, {len(WANTED)} subreddits   : {our_rate:12,.0f} lines/s ({t_ours:.2f} s, "
              f"{kept[0]:,} rows kept)")
        print(f"ratio ours/baseline: {our_rate / zstd_rate:.0%} (target >= 70%); {load()}")
        if others_ours is not None:
            print(f"other processes kept {others_ours:.2f} cores busy during our best run, "
                  f"{others_zstd:.2f} during the baseline's (ours needs 2 free cores, the baseline 1)")
        # Wall time needs two free cores (zstd in a child, scanning here): on a loaded machine the
        # ratio above understates it. CPU seconds do not depend on the load: the pipeline's time on
        # two free cores is that of its slower side.
        cpu = {name: cpu_seconds(side) for name, side in (("baseline", baseline), ("ours", ours))}
        scan, child = cpu["ours"]
        print(f"cpu seconds: baseline zstd {sum(cpu['baseline']):.2f}; ours {scan:.2f} scanning here + {child:.2f} in zstd "
              f"-> on two free cores {sum(cpu['baseline']) / max(scan, child):.0%} of the baseline's rate")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
