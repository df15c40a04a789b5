#!/usr/bin/env python3
"""Runs bench_row_reductions once and prints the Markdown table of docs/performance.md, section 6.

    python3 benchmarks/row_reductions_report.py               # configure + build build-bench, run, print
    python3 benchmarks/row_reductions_report.py --time cpu    # ratios from CPU time (a busy machine)

Every ratio comes from ONE run of the binary (ctgrad, the hand-written kernels and ctgrad's
batch norm on the same bytes in one process); each figure is the median over the repetitions.
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNIT = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build-bench"))
    ap.add_argument("--time", choices=["real", "cpu"], default="real")
    ap.add_argument("--repetitions", type=int, default=7)
    args = ap.parse_args()
    if not os.path.exists(os.path.join(args.build, "CMakeCache.txt")):
        subprocess.run(["cmake", "-S", ROOT, "-B", args.build, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release"],
                       check=True, stdout=sys.stderr)
    subprocess.run(["cmake", "--build", args.build, "--target", "bench_row_reductions", "-j2"], check=True,
                   stdout=sys.stderr)
    out = subprocess.run([os.path.join(args.build, "benchmarks", "bench_row_reductions"),
                          f"--benchmark_repetitions={args.repetitions}", "--benchmark_report_aggregates_only=true",
                          "--benchmark_format=json"], check=True, capture_output=True, text=True).stdout
    key = "real_time" if args.time == "real" else "cpu_time"
    med = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") == "median":
            med[b["run_name"]] = b[key] * UNIT[b["time_unit"]]
    print(f"| size | ctgrad (ms) | hand-written (ms) | ctgrad / hand-written | ctgrad batch norm, same bytes (ms) | "
          f"layer norm / batch norm |")
    print("|---|---|---|---|---|---|")
    for size in ["4096x1024", "16384x256", "8192x4096"]:
        c, h, b = (med[f"layer_norm/{k}/{size}"] for k in ("ctgrad_plan", "by_hand", "ctgrad_batch_norm_same_bytes"))
        print(f"| layer norm {size} | {c * 1e3:.2f} | {h * 1e3:.2f} | {c / h:.2f} | {b * 1e3:.2f} | {c / b:.2f} |")
    c, h = (med[f"softmax_cross_entropy/{k}/4096x1000"] for k in ("ctgrad_plan", "by_hand"))
    print(f"| softmax cross-entropy 4096x1000 | {c * 1e3:.2f} | {h * 1e3:.2f} | {c / h:.2f} | | |")
    print(f"\n({args.time} time, median of {args.repetitions} repetitions, one run)")


if __name__ == "__main__":
    main()
