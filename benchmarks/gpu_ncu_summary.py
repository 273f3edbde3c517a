#!/usr/bin/env python3
"""Sums ncu's per-kernel gpu__time_duration (ncu --csv --metrics gpu__time_duration.sum) by kernel
name over the last `--last N` kernels: the time breakdown of one decode step."""
import csv, re, sys, collections

last = int(sys.argv[2]) if len(sys.argv) > 2 else 0
rows = []
with open(sys.argv[1]) as f:
    lines = [l for l in f if l.startswith('"')]
for r in csv.DictReader(lines):
    if r.get("Metric Name") != "gpu__time_duration.sum":
        continue
    v = float(r["Metric Value"].replace(",", ""))
    unit = r["Metric Unit"]
    us = {"ns": 1e-3, "nsecond": 1e-3, "us": 1.0, "usecond": 1.0, "ms": 1e3, "msecond": 1e3}[unit] * v
    name = r["Kernel Name"]
    name = re.sub(r"\(.*", "", name)
    rows.append((name, us))
if last:
    rows = rows[-last:]
agg = collections.OrderedDict()
for n, us in rows:
    c, t = agg.get(n, (0, 0.0))
    agg[n] = (c + 1, t + us)
total = sum(t for _, t in agg.values())
print(f"{len(rows)} kernels, {total:.1f} us of kernel time")
for n, (c, t) in sorted(agg.items(), key=lambda kv: -kv[1][1]):
    print(f"{t:10.1f} us {100*t/total:5.1f}%  {c:5d} x {t/c:7.2f} us  {n[:110]}")
