#!/usr/bin/env python3
"""Sums ncu's per-kernel metrics by kernel name over the last `N` kernels: the time breakdown of one
decode step, and where ncu also collected dram__bytes_read.sum, the DRAM bytes each kernel group read
and its achieved read bandwidth.

Input: ncu --csv --metrics gpu__time_duration.sum[,dram__bytes_read.sum] (one row per kernel launch and
metric). Usage: gpu_ncu_summary.py FILE.csv [N] [--templates]   (N = 0 or absent: every kernel in the file;
--templates: one group per template instance, e.g. per weight type of the matvec kernels)."""
import collections
import csv
import re
import sys

TIME_US = {"ns": 1e-3, "nsecond": 1e-3, "us": 1.0, "usecond": 1.0, "ms": 1e3, "msecond": 1e3}
BYTES = {"byte": 1.0, "Kbyte": 1e3, "Mbyte": 1e6, "Gbyte": 1e9, "KB": 1e3, "MB": 1e6, "GB": 1e9, "B": 1.0}


def kernel_group(name, keep_templates):
    """A launch's group: its name without the argument list; with keep_templates its template arguments
    kept (which weight type, prologue and epilogue an instance has), else the bare name."""
    name = re.sub(r"\s*\([^()]*\)\s*$", "", name)  # the trailing argument list
    if not keep_templates:  # (ncu spells an anonymous namespace "<unnamed>": not a template argument list)
        name = re.sub(r"<.*", "", name.replace("<unnamed>", "{unnamed}")).replace("{unnamed}", "<unnamed>")
    return name


def main():
    keep_templates = "--templates" in sys.argv[1:]
    args = [a for a in sys.argv[1:] if a != "--templates"]
    last = int(args[1]) if len(args) > 1 else 0
    launches = collections.OrderedDict()  # launch ID -> {"name", "us", "bytes"}
    with open(args[0]) as f:
        lines = [l for l in f if l.startswith('"')]
    for r in csv.DictReader(lines):
        metric = r.get("Metric Name")
        if metric not in ("gpu__time_duration.sum", "dram__bytes_read.sum"):
            continue
        key = r.get("ID", str(len(launches)))
        entry = launches.setdefault(key, {"name": kernel_group(r["Kernel Name"], keep_templates), "us": 0.0, "bytes": None})
        value = float(r["Metric Value"].replace(",", ""))
        if metric == "gpu__time_duration.sum":
            entry["us"] = TIME_US[r["Metric Unit"]] * value
        else:
            entry["bytes"] = BYTES[r["Metric Unit"]] * value
    rows = list(launches.values())
    if last:
        rows = rows[-last:]
    agg = collections.OrderedDict()
    for e in rows:
        a = agg.setdefault(e["name"], {"n": 0, "us": 0.0, "bytes": 0.0, "has_bytes": False})
        a["n"] += 1
        a["us"] += e["us"]
        if e["bytes"] is not None:
            a["bytes"] += e["bytes"]
            a["has_bytes"] = True
    total = sum(a["us"] for a in agg.values())
    total_bytes = sum(a["bytes"] for a in agg.values())
    print(f"{len(rows)} kernels, {total:.1f} us of kernel time"
          + (f", {total_bytes / 1e6:.1f} MB read from DRAM ({total_bytes / total / 1e3:.0f} GB/s over the kernel time)"
             if total_bytes > 0 else ""))
    for name, a in sorted(agg.items(), key=lambda kv: -kv[1]["us"]):
        bw = f"  {a['bytes'] / 1e6:9.2f} MB {a['bytes'] / a['us'] / 1e3:6.0f} GB/s" if a["has_bytes"] else ""
        print(f"{a['us']:10.1f} us {100 * a['us'] / total:5.1f}%  {a['n']:5d} x {a['us'] / a['n']:7.2f} us{bw}  {name[:160]}")


if __name__ == "__main__":
    main()
