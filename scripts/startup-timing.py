#!/usr/bin/env python3
"""Start-up cost of the agent's executable: wall time, CPU time and peak RSS per process.

    python3 scripts/startup-timing.py [--runs N] [--node-20 PATH] [--compare DIR]

Runs each variant N times (default 100), interleaved round by round in rotating order, so
that a busy machine slows every variant alike; reads each child's own resource usage
(wait4: user+system CPU and max RSS). Prints medians and the 10th/90th percentiles of wall
time. Variants: bare `node -e 0`, then `--version` and `validate examples/egressrouter.yaml`
with V8's compile cache disabled and enabled (warm), and, when given, the same on an older
node for reference, and another build's dist/ (DIR/dist/cli.js, e.g. a checkout of main).
Uses the node first on PATH (scripts/node-runtime.sh) and dist/ as built.
"""
import argparse
import os
import statistics
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--runs", type=int, default=100)
parser.add_argument("--node-20", help="an older node binary to compare with (no compile cache)")
parser.add_argument("--compare", help="a directory holding another build (DIR/dist/cli.js)")
args = parser.parse_args()

CLI = "./dist/cli.js"
EXAMPLE = "examples/egressrouter.yaml"
NO_CACHE = {"NODE_DISABLE_COMPILE_CACHE": "1"}
variants = [
    ("node -e 0 (bare start-up)", ["node", "-e", "0"], {}),
    ("--version, no compile cache", [CLI, "--version"], NO_CACHE),
    ("--version, compile cache", [CLI, "--version"], {}),
    ("validate, no compile cache", [CLI, "validate", EXAMPLE], NO_CACHE),
    ("validate, compile cache", [CLI, "validate", EXAMPLE], {}),
]
if args.compare:
    other = os.path.join(args.compare, "dist", "cli.js")
    variants += [
        ("--version, the other build", [other, "--version"], NO_CACHE),
        ("validate, the other build", [other, "validate", EXAMPLE], NO_CACHE),
    ]
if args.node_20:
    flags = [args.node_20, "--max-semi-space-size=1", CLI]
    variants += [
        ("--version on the older node", [*flags, "--version"], {}),
        ("validate on the older node", [*flags, "validate", EXAMPLE], {}),
    ]


def which(program):
    if "/" in program:
        return program
    for directory in os.environ["PATH"].split(":"):
        path = os.path.join(directory, program)
        if os.access(path, os.X_OK):
            return path
    sys.exit(f"{program} not found on PATH")


def once(argv, extra_env):
    env = {**os.environ, **extra_env}
    devnull = os.open(os.devnull, os.O_WRONLY)
    start = time.perf_counter()
    pid = os.posix_spawn(which(argv[0]), argv, env, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    os.close(devnull)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(argv)} failed")
    return wall * 1000, (usage.ru_utime + usage.ru_stime) * 1000, usage.ru_maxrss / 1024


for _, argv, env in variants:  # warm-up: fills the compile cache, the page cache
    for _ in range(3):
        once(argv, env)
samples = {name: [] for name, _, _ in variants}
for round_number in range(args.runs):
    shift = round_number % len(variants)
    for name, argv, env in variants[shift:] + variants[:shift]:
        samples[name].append(once(argv, env))

print(f"{'variant':34} {'wall median':>11} {'p10':>7} {'p90':>7} {'CPU median':>10} {'max RSS':>9}")
for name, rows in samples.items():
    walls = sorted(r[0] for r in rows)
    cpu = statistics.median(r[1] for r in rows)
    rss = statistics.median(r[2] for r in rows)
    p10, p90 = walls[len(walls) // 10], walls[len(walls) * 9 // 10]
    print(f"{name:34} {statistics.median(walls):8.1f} ms {p10:7.1f} {p90:7.1f} {cpu:7.1f} ms {rss:6.1f} MiB")
