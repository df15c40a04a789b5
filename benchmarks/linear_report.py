#!/usr/bin/env python3
"""Runs bench_linear once, the BLAS on one thread, and prints the table of docs/performance.md, section 7.

    python3 benchmarks/linear_report.py               # configure + build build-bench, run, print
    python3 benchmarks/linear_report.py --time cpu    # ratios from CPU time (a busy machine)

Every ratio comes from ONE run of the binary (ctgrad and the hand-written CBLAS code in one
process, alternating per benchmark); each figure is the median over the repetitions. The
binary checks ctgrad's results against the hand-written ones before timing (and aborts when
they differ), and that ctgrad's linear layer made its three GEMM calls.
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
    subprocess.run(["cmake", "--build", args.build, "--target", "bench_linear", "-j2"], check=True, stdout=sys.stderr)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    out = subprocess.run([os.path.join(args.build, "benchmarks", "bench_linear"),
                          f"--benchmark_repetitions={args.repetitions}", "--benchmark_report_aggregates_only=true",
                          "--benchmark_format=json"], check=True, capture_output=True, text=True, env=env).stdout
    key = "real_time" if args.time == "real" else "cpu_time"
    med = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") == "median":
            med[b["run_name"]] = b[key] * UNIT[b["time_unit"]]
    print("| work (float, one thread) | ctgrad (ms) | by hand over CBLAS (ms) | ctgrad throughput / by hand |")
    print("|---|---|---|---|")
    for size in ["256x784x256", "1024x1024x1024", "4096x256x10"]:
        c, h = (med[f"linear/{k}/{size}"] for k in ("ctgrad_plan", "by_hand_cblas"))
        m, k, n = size.split("x")
        print(f"| linear layer y, dx, dW, db; m={m}, k={k}, n={n} | {c * 1e3:.3f} | {h * 1e3:.3f} | {h / c:.2f} |")
    c, h = (med[f"mlp_step/{k}/256"] for k in ("ctgrad_plan", "by_hand_cblas"))
    print(f"| MLP 784-256-256-10 (batch norm, ReLU, softmax CE), loss and every parameter's gradient, batch 256 | "
          f"{c * 1e3:.3f} | {h * 1e3:.3f} | {h / c:.2f} |")
    print(f"\n({args.time} time, median of {args.repetitions} repetitions, one run, OPENBLAS_NUM_THREADS=1)")


if __name__ == "__main__":
    main()
