#!/usr/bin/env python3
"""Where a kernel's warps wait, per SASS instruction, from ncu's source page:

    ncu --section SourceCounters --page source --print-source sass -k regex:KERNEL \\
        --launch-skip 3 --launch-count 1 PROGRAM ARGS > FILE
    benchmarks/gpu_ncu_sass_summary.py FILE [--top N] [--loop]

Prints the N instructions with the most warp-stall samples (share of all samples, executions,
instruction) and, with --loop, the hottest loop (the instructions executed most often) in address
order, so that a stall can be traced to the load it waits for (docs/gpu_notes.md, sixth pass: the
scale conversion right after its load)."""
import sys


def parse(path):
    rows = []
    for line in open(path, errors="replace"):
        if not line.startswith("0x"):
            continue
        src = line[19:80].strip()
        nums = line[80:].split()
        try:
            samples, executed = int(nums[0]), int(nums[3])
        except (IndexError, ValueError):
            continue
        rows.append((line[:18].strip(), samples, executed, src))
    return rows


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    top = int(argv[argv.index("--top") + 1]) if "--top" in argv else 15
    rows = parse(argv[1])
    if not rows:
        print(f"{argv[1]}: no SASS rows (was ncu run with --page source --print-source sass?)")
        return 1
    total = sum(r[1] for r in rows) or 1
    print(f"{len(rows)} instructions, {total} stall samples")
    for addr, samples, executed, src in sorted(rows, key=lambda r: -r[1])[:top]:
        print(f"{addr[-5:]} {samples:6d} {100.0 * samples / total:5.1f}% {executed:9d}  {src}")
    if "--loop" in argv:
        hot = max(r[2] for r in rows)
        idx = [i for i, r in enumerate(rows) if r[2] == hot]
        print(f"-- the hottest loop ({hot} executions per instruction)")
        for addr, samples, executed, src in rows[idx[0]:idx[-1] + 1]:
            print(f"{addr[-5:]} {samples:6d} {executed:9d}  {src}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
