#!/usr/bin/env python3
"""Markdown table of ops/s per cell from criterion's results, with embercache's ratios.

Reads every ``<criterion dir>/<group>/<bench>/<baseline>/{benchmark,estimates}.json``
written by ``cargo bench --bench throughput`` and prints, per group (e.g.
``zipf/get100/1t``), each cache's throughput in millions of ops/s and the ratios
embercache/quick_cache and embercache/moka (above 1.00 means embercache is faster).

Throughput = the group's ``Throughput::Elements`` / the time estimate of one iteration.
By default the estimate is criterion's "typical" one (the slope of the linear
regression when present, else the mean), the value criterion itself prints.

Usage (python3, standard library only)::

    cargo bench --bench throughput
    python3 benches/ratios.py                 # reads target/criterion (or $CARGO_TARGET_DIR)
    python3 benches/ratios.py --dir PATH --baseline new --stat median
    python3 benches/ratios.py --groups db/ --peers redis-server   # cargo bench --bench db
"""

import argparse
import json
import math
import os
import sys
from pathlib import Path

SUBJECT = "embercache"
PEERS = ("quick_cache", "moka")
# Mix order for sorting rows; unknown mixes follow, alphabetically.
MIX_ORDER = ("get100", "get95", "get50")


def default_dir():
    target = os.environ.get("CARGO_TARGET_DIR")
    if target:
        return Path(target) / "criterion"
    return Path(__file__).resolve().parent.parent / "target" / "criterion"


def estimate_ns(estimates, stat):
    if stat == "typical":
        slope = estimates.get("slope")
        entry = slope if slope else estimates.get("mean")
    else:
        entry = estimates.get(stat)
    if not entry:
        return None
    return entry.get("point_estimate")


def load(criterion_dir, baseline, stat):
    """{group_id: {function_id: ops_per_second}} for every result found."""
    cells = {}
    for bench_file in sorted(criterion_dir.glob(f"*/*/{baseline}/benchmark.json")):
        estimates_file = bench_file.with_name("estimates.json")
        try:
            bench = json.loads(bench_file.read_text())
            estimates = json.loads(estimates_file.read_text())
        except (OSError, ValueError) as err:
            print(f"warning: skipping {bench_file.parent}: {err}", file=sys.stderr)
            continue
        throughput = bench.get("throughput") or {}
        elements = throughput.get("Elements")
        nanos = estimate_ns(estimates, stat)
        group, function = bench.get("group_id"), bench.get("function_id")
        if not elements or not nanos or group is None or function is None:
            print(f"warning: skipping {bench_file.parent}: no element throughput or estimate",
                  file=sys.stderr)
            continue
        cells.setdefault(group, {})[function] = elements / (nanos * 1e-9)
    return cells


def sort_key(group):
    parts = group.split("/")
    mix = parts[1] if len(parts) > 1 else group
    mix_rank = MIX_ORDER.index(mix) if mix in MIX_ORDER else len(MIX_ORDER)
    threads = parts[2] if len(parts) > 2 else ""
    digits = "".join(ch for ch in threads if ch.isdigit())
    return (parts[0], mix_rank, mix, int(digits) if digits else 0, group)


def fmt_ops(value):
    return "—" if value is None else f"{value / 1e6:.2f} M"


def fmt_ratio(num, den):
    if num is None or den is None or den == 0:
        return "—"
    return f"{num / den:.2f}×"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=default_dir(),
                        help="criterion output folder (default: %(default)s)")
    parser.add_argument("--baseline", default="new",
                        help="criterion baseline folder name (default: new)")
    parser.add_argument("--stat", default="typical",
                        choices=("typical", "slope", "mean", "median"),
                        help="which time estimate to use (default: typical)")
    parser.add_argument("--peers", default=",".join(PEERS),
                        help="comma-separated peer bench ids to compare with (default: %(default)s)")
    parser.add_argument("--groups", default="",
                        help="only groups whose id starts with this (e.g. db/ or zipf/)")
    args = parser.parse_args()
    peers = tuple(p for p in args.peers.split(",") if p)

    if not args.dir.is_dir():
        sys.exit(f"ratios.py: no criterion results in {args.dir}; "
                 "run `cargo bench --bench throughput` first")
    cells = {g: r for g, r in load(args.dir, args.baseline, args.stat).items() if g.startswith(args.groups)}
    if not cells:
        sys.exit(f"ratios.py: no `{args.baseline}` results with element throughput in {args.dir}")

    others = sorted({f for row in cells.values() for f in row} - {SUBJECT, *peers})
    columns = [SUBJECT, *peers, *others]
    header = ["cell", *[f"{c} (ops/s)" for c in columns], *[f"{SUBJECT} / {p}" for p in peers]]
    print("| " + " | ".join(header) + " |")
    print("|---|" + "---:|" * (len(header) - 1))

    ratios = {p: [] for p in peers}
    for group in sorted(cells, key=sort_key):
        row = cells[group]
        subject = row.get(SUBJECT)
        line = [group, *[fmt_ops(row.get(c)) for c in columns]]
        for peer in peers:
            line.append(fmt_ratio(subject, row.get(peer)))
            if subject and row.get(peer):
                ratios[peer].append(subject / row[peer])
        print("| " + " | ".join(line) + " |")

    print()
    for peer in peers:
        values = ratios[peer]
        if not values:
            continue
        ahead = sum(1 for r in values if r >= 1.0)
        geomean = math.exp(sum(math.log(r) for r in values) / len(values))
        print(f"{SUBJECT} ahead of {peer} in {ahead} of {len(values)} cells; "
              f"geometric mean ratio {geomean:.2f}×")
    print(f"\n(estimate: {args.stat}; source: {args.dir}, baseline `{args.baseline}`)")


if __name__ == "__main__":
    main()
