#!/usr/bin/env python3
"""Interleaved timing harness for bench/run.sh.

Usage: measure.py --group NAME [--runs N] [--warmup N] [--prepare SHELL] [--no-shell]
                  [--out FILE.jsonl] --cmd NAME COMMAND [--cmd NAME COMMAND]...
                  [--ratio A B]...

Unlike hyperfine, which runs all of one command's repetitions before the next command's,
this runs the commands round-robin: round i runs every command once, rotating which goes
first. Drift on a noisy machine (other builds, thermal, writeback) then hits every command
alike, and each ratio is taken within a round, between runs seconds apart. `--prepare` runs
(untimed) before every timed run, e.g. to empty a restore target and `sync` the previous
run's writes. Each run's wall time, CPU time (user + sys of the whole process tree, from
wait4) are recorded. Every prepare and timed run gets a fresh number in $BENCH_RUN, e.g. to
restore into a new directory each time (see run.sh for why not the same one emptied).

Prints a table per group: median wall time, spread (min-max), median CPU, and for
each --ratio A B the median and spread of the per-round ratios A/B (wall and CPU).
"""

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time


# Commands' own output is not wanted (list prints 10k rows); their stderr still shows.
DEVNULL_STDOUT = [(os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)]


def run_once(cmd, shell):
    argv = ["/bin/sh", "-c", cmd] if shell else shlex.split(cmd)
    start = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=DEVNULL_STDOUT)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"measure.py: command failed ({status}): {cmd}")
    return wall, ru.ru_utime + ru.ru_stime


def prepare_and_run(a, cmd, shell):
    global counter
    counter += 1
    os.environ["BENCH_RUN"] = str(counter)
    if a.prepare:
        subprocess.run(a.prepare, shell=True, check=True)
    return run_once(cmd, shell)


counter = 0


def fmt_s(x):
    return f"{x * 1000:.1f} ms" if x < 1 else f"{x:.3f} s"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--group", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--prepare")
    ap.add_argument("--no-shell", action="store_true")
    ap.add_argument("--out")
    ap.add_argument("--cmd", nargs=2, action="append", required=True, metavar=("NAME", "CMD"))
    ap.add_argument("--ratio", nargs=2, action="append", default=[], metavar=("A", "B"))
    a = ap.parse_args()

    names = [n for n, _ in a.cmd]
    cmds = dict(a.cmd)
    shell = not a.no_shell
    for _ in range(a.warmup):
        for n in names:
            prepare_and_run(a, cmds[n], shell)
    samples = {n: [] for n in names}
    for i in range(a.runs):
        k = i % len(names)
        for n in names[k:] + names[:k]:
            samples[n].append(prepare_and_run(a, cmds[n], shell))

    print(f"\n## {a.group} ({a.runs} interleaved runs"
          f"{', prepare: ' + a.prepare if a.prepare else ''})")
    print(f"{'command':<28} {'median':>10} {'min':>10} {'max':>10} {'cpu':>10}")
    summary = {"group": a.group, "runs": a.runs, "commands": {}, "ratios": {}}
    for n in names:
        wall = [s[0] for s in samples[n]]
        cpu = [s[1] for s in samples[n]]
        med = statistics.median(wall)
        print(f"{n:<28} {fmt_s(med):>10} {fmt_s(min(wall)):>10} {fmt_s(max(wall)):>10} "
              f"{fmt_s(statistics.median(cpu)):>10}")
        summary["commands"][n] = {"median": med, "min": min(wall), "max": max(wall),
                                  "cpu": statistics.median(cpu), "wall": wall}
    for x, y in a.ratio:
        r = [sx[0] / sy[0] for sx, sy in zip(samples[x], samples[y])]
        rc = [sx[1] / sy[1] for sx, sy in zip(samples[x], samples[y])]
        m = statistics.median(r)
        print(f"ratio {x} / {y}: {m:.2f} (per-round {min(r):.2f}-{max(r):.2f}), "
              f"cpu {statistics.median(rc):.2f}")
        summary["ratios"][f"{x} / {y}"] = {"median": m, "min": min(r), "max": max(r),
                                           "cpu": statistics.median(rc)}
    if a.out:
        with open(a.out, "a") as f:
            f.write(json.dumps(summary) + "\n")


if __name__ == "__main__":
    main()
