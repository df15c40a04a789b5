#!/usr/bin/python3
"""PyTorch's CPU batch norm, training mode, forward + backward, float32, one thread.

The reference figures the hand-written baselines of benchmarks/batch_norm.cpp must match or
beat (issue 6, target 2). PyTorch is not a dependency of ctgrad or of its tests: install it only
to reproduce these figures (Debian: `apt-get install python3-torch`; the interpreter is the
system one, /usr/bin/python3).

    /usr/bin/python3 benchmarks/pytorch_batch_norm.py                 # Markdown table
    /usr/bin/python3 benchmarks/pytorch_batch_norm.py --json out.json # also machine-readable

Times are wall-clock (median over repetitions, and the minimum) and process CPU time (median),
the latter for comparing with report.py --time cpu on a busy shared machine. One timed call is what the C++ benchmarks time: y = F.batch_norm(x, None, None, gamma, beta,
training=True, eps=1e-5), then y.backward(dy), which leaves dx, dgamma and dbeta in x.grad,
gamma.grad and beta.grad (set to None before each call, so nothing accumulates). x is m x n
(batch x features, row-major) and requires grad, as do gamma and beta. Each size is checked
once against a float64 closed form before it is timed.
"""
import argparse
import json
import platform
import statistics
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    sys.exit("pytorch_batch_norm.py: PyTorch is not installed (Debian: apt-get install python3-torch; "
             "run with /usr/bin/python3)")

SIZES = [(256, 1024), (1024, 1024), (4096, 1024), (16384, 256)]
EPS = 1e-5


def make_inputs(m, n, seed=2024):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(m, n, generator=g) * 2.0 + 3.0).requires_grad_(True)
    gamma = (0.5 + 0.25 * torch.rand(n, generator=g)).requires_grad_(True)
    beta = (0.1 * torch.randn(n, generator=g)).requires_grad_(True)
    dy = torch.randn(m, n, generator=g)
    return x, gamma, beta, dy


def step(x, gamma, beta, dy):
    x.grad = gamma.grad = beta.grad = None
    y = F.batch_norm(x, None, None, gamma, beta, training=True, momentum=0.0, eps=EPS)
    y.backward(dy)
    return y


def check(m, n):
    """Max error of PyTorch's float32 results against the float64 closed form."""
    x, gamma, beta, dy = make_inputs(m, n)
    y = step(x, gamma, beta, dy)
    xd, gd, bd, dyd = (t.detach().double() for t in (x, gamma, beta, dy))
    mu = xd.mean(0)
    var = ((xd - mu) ** 2).mean(0)
    inv_std = 1.0 / torch.sqrt(var + EPS)
    xhat = (xd - mu) * inv_std
    dxhat = dyd * gd
    y_ref = gd * xhat + bd
    dx_ref = inv_std / m * (m * dxhat - dxhat.sum(0) - xhat * (dxhat * xhat).sum(0))
    dg_ref = (dyd * xhat).sum(0)
    db_ref = dyd.sum(0)

    def rel(a, ref):
        return float((a.double() - ref).abs().max() / ref.abs().max())

    return {"y": rel(y.detach(), y_ref), "dx": rel(x.grad, dx_ref),
            "dgamma": rel(gamma.grad, dg_ref), "dbeta": rel(beta.grad, db_ref)}


def measure(m, n, repetitions, min_time):
    """Median over `repetitions` of the mean wall and process CPU time of one call, each
    repetition a batch of calls lasting >= min_time s."""
    x, gamma, beta, dy = make_inputs(m, n)
    for _ in range(3):
        step(x, gamma, beta, dy)
    t0 = time.perf_counter()
    step(x, gamma, beta, dy)
    once = max(time.perf_counter() - t0, 1e-6)
    iters = max(1, int(min_time / once))
    samples, cpu = [], []
    for _ in range(repetitions):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(iters):
            step(x, gamma, beta, dy)
        samples.append((time.perf_counter() - t0) / iters)
        cpu.append((time.process_time() - c0) / iters)
    return {"median_s": statistics.median(samples), "min_s": min(samples), "cpu_median_s": statistics.median(cpu),
            "iterations": iters, "samples_s": samples, "cpu_samples_s": cpu}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=0.2, help="seconds per repetition (default 0.2)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON to FILE")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    rows = []
    for m, n in SIZES:
        err = check(m, n)
        r = measure(m, n, args.repetitions, args.min_time)
        # The bytes any implementation must move: read x and dy, write y and dx (float32).
        compulsory = 4 * m * n * 4
        rows.append({"m": m, "n": n, "errors": err, **r, "bytes": compulsory})

    print(f"PyTorch {torch.__version__} ({platform.python_implementation()} {platform.python_version()}), "
          f"torch.get_num_threads() = {torch.get_num_threads()}, "
          f"{args.repetitions} repetitions of >= {args.min_time} s, median\n")
    print("| m x n | PyTorch fwd+bwd (ms) | min (ms) | CPU (ms) | effective GB/s | max rel. error y / dx / dgamma / dbeta |")
    print("|---|---:|---:|---:|---:|---|")
    for r in rows:
        e = r["errors"]
        print(f"| {r['m']}x{r['n']} | {r['median_s'] * 1e3:.3f} | {r['min_s'] * 1e3:.3f} | {r['cpu_median_s'] * 1e3:.3f} | "
              f"{r['bytes'] / r['median_s'] / 1e9:.1f} | "
              f"{e['y']:.1e} / {e['dx']:.1e} / {e['dgamma']:.1e} / {e['dbeta']:.1e} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"torch_version": torch.__version__, "threads": torch.get_num_threads(),
                       "repetitions": args.repetitions, "min_time": args.min_time, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
