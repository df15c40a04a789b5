#!/usr/bin/env python3
"""Runs the batch-norm benchmarks once and prints the Markdown tables of docs/performance.md.

    python3 benchmarks/report.py                  # configure + build build-bench, run, print
    python3 benchmarks/report.py --time cpu       # ratios from CPU time (a busy shared machine)
    python3 benchmarks/report.py --pytorch        # also run benchmarks/pytorch_batch_norm.py
    python3 benchmarks/report.py --from-json raw.json   # re-render a saved run (--save-json)

Every ratio comes from ONE run of the benchmark binary: ctgrad, the hand-written baselines and
memcpy are timed in the same process (repetitions interleaved at random), and the figure of
each row is the median over the repetitions. Only the Python standard library is used.

Tables:
  1. per size: the best hand-written baseline that meets ctgrad's accuracy contract (double
     accumulation; rows labelled "information only" are excluded), ctgrad's times and
     ctgrad / best (issue 6 target: <= 1.10);
  2. per size: effective bandwidth = compulsory bytes (read x, dy, gamma, beta; write y, dx,
     dgamma, dbeta) / time, against memcpy of x and dy into two buffers in the same run
     (issue 6 target at 4096x1024 and 16384x256: >= 0.70 of memcpy), and the two-pass
     estimate: memcpy time / (time of one read of x and dy + memcpy time), the fraction of
     memcpy's bandwidth a kernel reaches whose first pass only reads x and dy at full speed
     and whose second pass (read x, dy; write y, dx: memcpy's bytes) runs as fast as memcpy,
     and what the information-only bound_block8_stream row reaches (float sums of 8-row
     blocks, streaming stores: the fastest two-pass kernel we have, outside the accuracy design);
  3. every row: median real and CPU time, coefficient of variation, bandwidth, max error.
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_BUILD = os.path.join(ROOT, "build-bench")
TARGET = "bench_batch_norm"
UNIT = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def run(cmd, **kw):
    print("+ " + " ".join(shlex.quote(c) for c in cmd), file=sys.stderr)
    return subprocess.run(cmd, check=True, **kw)


def build(build_dir):
    if not os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
        run(["cmake", "-S", ROOT, "-B", build_dir, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release"],
            stdout=sys.stderr)
    run(["cmake", "--build", build_dir, "--target", TARGET, "-j2"], stdout=sys.stderr)
    return os.path.join(build_dir, "benchmarks", TARGET)


def parse_name(name):
    """batch_norm/<impl>/<m>x<n>/threads:<t> -> (impl, m, n, t)"""
    parts = name.split("/")
    impl = parts[1]
    m, n = (int(v) for v in parts[2].split("x"))
    threads = 1
    for p in parts[3:]:
        if p.startswith("threads:"):
            threads = int(p.split(":")[1])
    return impl, m, n, threads


def collect(data, time_key):
    """{(m, n, threads): {impl: row}} from the median and cv aggregates."""
    rows = defaultdict(dict)
    for b in data["benchmarks"]:
        if b.get("run_type") != "aggregate" or b.get("aggregate_name") not in ("median", "cv"):
            continue
        impl, m, n, t = parse_name(b["run_name"])
        r = rows[(m, n, t)].setdefault(impl, {"impl": impl, "m": m, "n": n, "threads": t})
        if b["aggregate_name"] == "median":
            scale = UNIT[b["time_unit"]]
            r["real"] = b["real_time"] * scale
            r["cpu"] = b["cpu_time"] * scale
            r["time"] = r[time_key]
            r["label"] = b.get("label", "")
            r["max_err"] = b.get("max_err")
            r["plan_bytes"] = b.get("plan_bytes")
            r["reps"] = b.get("repetitions")
        else:
            r["cv"] = b[time_key + "_time"]  # cv aggregates hold the ratio in the time fields
    for size, impls in rows.items():
        m, n, _ = size
        for r in impls.values():
            r["bytes"] = {"memcpy": 4 * 4 * m * n, "read_x_dy": 4 * 2 * m * n}.get(r["impl"], 4 * (4 * m * n + 4 * n))
    return rows


def size_order(size):
    m, n, t = size
    return (m * n, -n, t)  # the order of issue 6: 256x1024, 1024x1024, 4096x1024, 16384x256


def is_contract_baseline(r):
    return r["impl"].startswith("baseline_") and "information" not in r.get("label", "")


def ms(t):
    return f"{t * 1e3:.3f}" if t is not None else "-"


def gbs(r):
    return r["bytes"] / r["time"] / 1e9


def load_pytorch(path, time_key):
    with open(path) as f:
        d = json.load(f)
    key = "cpu_median_s" if time_key == "cpu" else "median_s"
    return {(r["m"], r["n"]): r.get(key, r["median_s"]) for r in d["rows"]}, d


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--binary", help=f"benchmark binary (default: build {TARGET} in --build-dir)")
    ap.add_argument("--build-dir", default=DEFAULT_BUILD)
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=0.2, help="seconds per repetition of each benchmark")
    ap.add_argument("--filter", default="", help="--benchmark_filter regex (default: all)")
    ap.add_argument("--time", choices=("real", "cpu"), default="real",
                    help="which median the ratios use (default real; cpu on a busy shared machine)")
    ap.add_argument("--save-json", metavar="FILE", help="keep the raw Google Benchmark JSON")
    ap.add_argument("--from-json", metavar="FILE", help="render a saved run instead of running")
    ap.add_argument("--pytorch", nargs="?", const="run", metavar="JSON",
                    help="add PyTorch's figures: run benchmarks/pytorch_batch_norm.py (needs /usr/bin/python3 "
                         "with torch), or read its --json output")
    args = ap.parse_args()

    if args.from_json:
        with open(args.from_json) as f:
            data = json.load(f)
        command = f"(saved run {args.from_json})"
    else:
        binary = args.binary or build(args.build_dir)
        cmd = [binary, "--benchmark_format=json", f"--benchmark_repetitions={args.repetitions}",
               "--benchmark_report_aggregates_only=true", "--benchmark_enable_random_interleaving=true",
               f"--benchmark_min_time={args.min_time}"]
        if args.filter:
            cmd.append(f"--benchmark_filter={args.filter}")
        out = run(cmd, stdout=subprocess.PIPE, text=True).stdout
        data = json.loads(out)
        if args.save_json:
            with open(args.save_json, "w") as f:
                f.write(out)
        command = " ".join(shlex.quote(c) for c in cmd)

    torch = None
    if args.pytorch:
        path = args.pytorch
        if path == "run":
            path = os.path.join(args.build_dir, "pytorch_batch_norm.json")
            run(["/usr/bin/python3", os.path.join(ROOT, "benchmarks", "pytorch_batch_norm.py"),
                 "--repetitions", str(args.repetitions), "--min-time", str(args.min_time), "--json", path],
                stdout=sys.stderr)
        torch, torch_meta = load_pytorch(path, args.time)

    ctx = data.get("context", {})
    rows = collect(data, args.time)
    caches = ", ".join(f"L{c['level']} {c['type'][0]} {c['size'] // 1024} KiB x{c['num_sharing'] and max(1, ctx.get('num_cpus', 1) // c['num_sharing'])}"
                       for c in ctx.get("caches", []))
    print(f"Command: `{command}`  ")
    print(f"Date: {ctx.get('date', '?')}; host {ctx.get('host_name', '?')}, {ctx.get('num_cpus', '?')} CPUs "
          f"at {ctx.get('mhz_per_cpu', '?')} MHz, caches: {caches}; load average "
          f"{', '.join(f'{v:.2f}' for v in ctx.get('load_avg', []))}; compiler {ctx.get('compiler', '?')}; "
          f"ctgrad plan: {ctx.get('ctgrad_plan', '?')}; library_build_type {ctx.get('library_build_type', '?')}.  ")
    reps = next((r.get("reps") for impls in rows.values() for r in impls.values() if r.get("reps")), "?")
    print(f"Figures: median of {reps} repetitions ({args.time} time), repetitions interleaved at random.")
    if torch:
        print(f"PyTorch: {torch_meta['torch_version']}, {torch_meta['threads']} thread, median of "
              f"{torch_meta['repetitions']} ({args.time} time; a separate process run after the benchmarks).")
    print()

    # 1. time ratios
    head = "| m x n | threads | best baseline | baseline (ms) | ctgrad plan (ms) | plan / best | ctgrad evaluate_into (ms) | evaluate_into / best |"
    sep = "|---|---:|---|---:|---:|---:|---:|---:|"
    if torch:
        head += " PyTorch (ms) | best baseline / PyTorch |"
        sep += "---:|---:|"
    print(head)
    print(sep)
    one_thread_best = {}
    for size in sorted(rows, key=size_order):
        m, n, t = size
        impls = rows[size]
        base = [r for r in impls.values() if is_contract_baseline(r) and "time" in r]
        if t == 1 and base:
            one_thread_best[(m, n)] = min(base, key=lambda r: r["time"])
        best = min(base, key=lambda r: r["time"]) if base else one_thread_best.get((m, n))
        plan = impls.get("ctgrad_plan")
        ev = impls.get("ctgrad_evaluate_into")

        def ratio(r):
            return f"**{r['time'] / best['time']:.2f}**" if r and best else "-"

        line = (f"| {m}x{n} | {t} | {best['impl'] if best else '-'} | {ms(best and best['time'])} | "
                f"{ms(plan and plan['time'])} | {ratio(plan)} | {ms(ev and ev['time'])} | {ratio(ev)} |")
        if torch:
            tt = torch.get((m, n))
            line += f" {ms(tt)} | {best['time'] / tt:.2f} |" if tt and best else " - | - |"
        print(line)
    print()

    # 2. bandwidth
    print("| m x n | threads | memcpy (GB/s) | read x, dy (GB/s) | two-pass estimate / memcpy | best baseline (GB/s) | baseline / memcpy | float blocks + streaming stores / memcpy (information) | ctgrad plan (GB/s) | plan / memcpy | plan bytes moved / compulsory |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in sorted(rows, key=size_order):
        m, n, t = size
        impls = rows[size]
        mc = impls.get("memcpy") or rows.get((m, n, 1), {}).get("memcpy")
        rd = impls.get("read_x_dy") or rows.get((m, n, 1), {}).get("read_x_dy")
        base = [r for r in impls.values() if is_contract_baseline(r) and "time" in r]
        best = min(base, key=lambda r: r["time"]) if base else None
        plan = impls.get("ctgrad_plan")
        bound = impls.get("bound_block8_stream")

        def bw(r):
            return f"{gbs(r):.1f}" if r else "-"

        def frac(r):
            return f"**{gbs(r) / gbs(mc):.2f}**" if r and mc else "-"

        moved = f"{plan['plan_bytes'] / plan['bytes']:.2f}" if plan and plan.get("plan_bytes") else "-"
        # a first pass that only reads x and dy, then a second at memcpy's speed (it moves memcpy's bytes)
        two_pass = f"{mc['time'] / (rd['time'] + mc['time']):.2f}" if mc and rd and t == 1 else "-"
        print(f"| {m}x{n} | {t} | {bw(mc)} | {bw(t == 1 and rd)} | {two_pass} | {bw(best)} | {frac(best)} | {frac(bound)} | {bw(plan)} | {frac(plan)} | {moved} |")
    print()

    # 3. two threads (wall time: CPU time would add both threads up)
    pairs = [(size, rows[size].get("ctgrad_plan"), rows.get((size[0], size[1], 1), {}).get("ctgrad_plan"))
             for size in sorted(rows, key=size_order) if size[2] == 2]
    if pairs:
        print("| m x n | ctgrad plan, 1 thread (ms, wall) | 2 threads (ms, wall) | speedup |")
        print("|---|---:|---:|---:|")
        for (m, n, _), two, one in pairs:
            speed = f"**{one['real'] / two['real']:.2f}**" if one and two else "-"
            print(f"| {m}x{n} | {ms(one and one['real'])} | {ms(two and two['real'])} | {speed} |")
        print()

    # 4. every row
    print("| benchmark | real (ms) | CPU (ms) | cv | GB/s | max error |")
    print("|---|---:|---:|---:|---:|---:|")
    for size in sorted(rows, key=size_order):
        for r in sorted(rows[size].values(), key=lambda r: r["time"]):
            err = f"{r['max_err']:.1e}" if r.get("max_err") is not None else "-"
            note = " (information only)" if "information" in r.get("label", "") else ""
            print(f"| {r['impl']}{note} {r['m']}x{r['n']} t{r['threads']} | {ms(r['real'])} | {ms(r['cpu'])} | "
                  f"{r.get('cv', float('nan')) * 100:.1f}% | {gbs(r):.1f} | {err} |")


if __name__ == "__main__":
    main()
