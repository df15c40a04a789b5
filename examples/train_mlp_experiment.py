#!/usr/bin/env python3
"""The experiment of issue 16: does batch normalization "stabilize the learning process and
significantly reduce the number of training epochs required" (shared/reference/
batch_norm_explained.md)? Runs examples/train_mlp.cpp with and without batch norm, at a
moderate learning rate and at a high one, for several seeds, and writes docs/training.md (tables,
verdict) and docs/training_accuracy.svg (test accuracy against epoch, drawn here as plain SVG).

    python3 examples/train_mlp_experiment.py --train-mlp build/examples/train_mlp \
        [--epochs 20] [--seeds 1 2 3] [--lr 0.01] [--high-lr 0.3] [--scan 0.1 0.2 0.3 0.5] [--scan-epochs 3]

Every run is at one thread (--threads 1, OPENBLAS_NUM_THREADS=1). The CSV files of all runs are
kept in --work (default build/train_mlp_experiment). The scan (a few epochs per learning rate,
first seed only) is what the high learning rate was chosen from; it is in the document too.
Python 3 standard library only.
"""
import argparse
import csv
import math
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
THRESHOLDS = (0.85, 0.88)


def run(exe, work, bn, lr, seed, epochs):
    name = f"bn-{bn}_lr-{lr}_seed-{seed}_epochs-{epochs}"
    path = os.path.join(work, name + ".csv")
    cmd = [exe, "--bn", bn, "--lr", str(lr), "--seed", str(seed), "--epochs", str(epochs), "--threads", "1", "--csv", path]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    print("$ OPENBLAS_NUM_THREADS=1 " + " ".join(cmd), flush=True)
    t0 = time.monotonic()
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sys.stdout.write(p.stdout)
    if p.returncode != 0:
        sys.exit(f"train_mlp_experiment.py: {' '.join(cmd)} exited with status {p.returncode}")
    with open(path, newline="") as f:
        rows = [dict(epoch=int(r["epoch"]), loss=float(r["train_loss"]), acc=float(r["test_accuracy"]),
                     train_s=float(r["train_seconds"]), eval_s=float(r["eval_seconds"])) for r in csv.DictReader(f)]
    if len(rows) != epochs:
        sys.exit(f"train_mlp_experiment.py: {path} has {len(rows)} rows, expected {epochs}")
    alloc = [l for l in p.stdout.splitlines() if "operator new calls" in l]
    return dict(bn=bn, lr=lr, seed=seed, rows=rows, wall=time.monotonic() - t0, alloc=alloc[0] if alloc else "")


def first_epoch_reaching(rows, t):
    for r in rows:
        if r["acc"] >= t:
            return r["epoch"]
    return None


def fmt_loss(x):
    return "nan" if math.isnan(x) else f"{x:.4f}"


def variant_label(bn, lr):
    return f"{'batch norm' if bn == 'on' else 'plain'}, lr {lr}"


def svg_plot(runs, lrs, epochs, path):
    """Two panels (one per learning rate), test accuracy against epoch; a thin line per seed and a
    thick line for the mean over seeds; blue = plain, orange = batch norm."""
    colors = {"off": "#1f77b4", "on": "#ff7f0e"}
    pw, ph, ml, mr, mt, mb = 430, 320, 60, 20, 40, 50
    width, height = ml + len(lrs) * (pw + mr) + 10, mt + ph + mb + 30
    accs = [r["acc"] for run_ in runs for r in run_["rows"] if not math.isnan(r["acc"])]
    lo = max(0.0, math.floor(min(accs) * 20) / 20)
    hi = min(1.0, math.ceil(max(accs) * 20) / 20 + 0.0001)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           'font-family="sans-serif" font-size="12">', f'<rect width="{width}" height="{height}" fill="white"/>']
    for k, lr in enumerate(lrs):
        x0 = ml + k * (pw + mr)
        X = lambda e: x0 + (e - 1) / max(1, epochs - 1) * pw
        Y = lambda a: mt + (hi - a) / (hi - lo) * ph
        out.append(f'<text x="{x0 + pw / 2}" y="{mt - 15}" text-anchor="middle" font-size="14">learning rate {lr}</text>')
        out.append(f'<rect x="{x0}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>')
        step = 0.05 if hi - lo > 0.3 else 0.02 if hi - lo > 0.1 else 0.01
        a = math.ceil(lo / step) * step
        while a <= hi + 1e-9:
            y = Y(a)
            out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + pw}" y2="{y:.1f}" stroke="#ddd"/>')
            out.append(f'<text x="{x0 - 5}" y="{y + 4:.1f}" text-anchor="end">{a * 100:.0f}%</text>')
            a += step
        for t in THRESHOLDS:
            if lo <= t <= hi:
                out.append(f'<line x1="{x0}" y1="{Y(t):.1f}" x2="{x0 + pw}" y2="{Y(t):.1f}" stroke="#888" stroke-dasharray="4 3"/>')
        for e in range(1, epochs + 1):
            if epochs <= 10 or e % 2 == 0 or e == 1:
                out.append(f'<text x="{X(e):.1f}" y="{mt + ph + 16}" text-anchor="middle">{e}</text>')
        out.append(f'<text x="{x0 + pw / 2}" y="{mt + ph + 34}" text-anchor="middle">epoch</text>')
        for bn in ("off", "on"):
            sel = [r for r in runs if r["bn"] == bn and r["lr"] == lr]
            for r in sel:
                pts = " ".join(f"{X(p['epoch']):.1f},{Y(max(lo, p['acc'])):.1f}" for p in r["rows"] if not math.isnan(p["acc"]))
                out.append(f'<polyline points="{pts}" fill="none" stroke="{colors[bn]}" stroke-width="1" stroke-opacity="0.5"/>')
            mean = [statistics.mean(r["rows"][i]["acc"] for r in sel) for i in range(epochs)]
            pts = " ".join(f"{X(i + 1):.1f},{Y(max(lo, m)):.1f}" for i, m in enumerate(mean))
            out.append(f'<polyline points="{pts}" fill="none" stroke="{colors[bn]}" stroke-width="2.5"/>')
    out.append(f'<text x="15" y="{mt + ph / 2}" transform="rotate(-90 15 {mt + ph / 2})" text-anchor="middle">test accuracy</text>')
    ly = height - 12
    for i, (bn, label) in enumerate((("off", "plain SGD (no batch norm)"), ("on", "batch norm (training mode; inference mode for the test)"))):
        lx = ml + i * 260
        out.append(f'<line x1="{lx}" y1="{ly - 4}" x2="{lx + 25}" y2="{ly - 4}" stroke="{colors[bn]}" stroke-width="2.5"/>')
        out.append(f'<text x="{lx + 30}" y="{ly}">{label}</text>')
    out.append(f'<text x="{width - 10}" y="{ly}" text-anchor="end" fill="#666">thin: one seed; thick: mean; dashed: 85%, 88%</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train-mlp", default=os.path.join(ROOT, "build", "examples", "train_mlp"))
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--high-lr", type=float, default=0.3)
    ap.add_argument("--scan", type=float, nargs="*", default=[0.1, 0.2, 0.3, 0.5])
    ap.add_argument("--scan-epochs", type=int, default=3)
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "train_mlp_experiment"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "training.md"))
    ap.add_argument("--svg", default=os.path.join(ROOT, "docs", "training_accuracy.svg"))
    a = ap.parse_args()
    if not os.access(a.train_mlp, os.X_OK):
        sys.exit(f"train_mlp_experiment.py: {a.train_mlp} is not an executable; build it: cmake --build build --target train_mlp")
    os.makedirs(a.work, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_before = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else ["?"] * 3

    scan = [run(a.train_mlp, a.work, bn, lr, a.seeds[0], a.scan_epochs) for lr in a.scan for bn in ("off", "on")]
    lrs = [a.lr, a.high_lr]
    runs = [run(a.train_mlp, a.work, bn, lr, seed, a.epochs) for lr in lrs for bn in ("off", "on") for seed in a.seeds]
    load_after = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else ["?"] * 3
    svg_plot(runs, lrs, a.epochs, a.svg)

    def sel(bn, lr):
        return [r for r in runs if r["bn"] == bn and r["lr"] == lr]

    def reach(bn, lr, t):
        return [first_epoch_reaching(r["rows"], t) for r in sel(bn, lr)]

    def mean_or_none(xs):
        return statistics.mean(xs) if xs and all(x is not None for x in xs) else None

    def drops(r):  # epochs after which test accuracy fell by more than one point
        acc = [p["acc"] for p in r["rows"]]
        return sum(1 for i in range(1, len(acc)) if acc[i] < acc[i - 1] - 0.01)

    cmdline = ("python3 examples/train_mlp_experiment.py --train-mlp build/examples/train_mlp "
               f"--epochs {a.epochs} --seeds {' '.join(map(str, a.seeds))} --lr {a.lr} --high-lr {a.high_lr} "
               f"--scan {' '.join(map(str, a.scan))} --scan-epochs {a.scan_epochs}")
    md = []
    w = md.append
    w("# Training an MLP on Fashion-MNIST: does batch norm reduce the epochs needed?\n")
    w("<!-- Generated by examples/train_mlp_experiment.py; do not edit by hand. -->\n")
    w("The reference document (`shared/reference/batch_norm_explained.md`) says batch normalization \"stabilizes the "
      "learning process and significantly reduces the number of training epochs required\". This page tests that claim "
      "with [examples/train_mlp.cpp](../examples/train_mlp.cpp): an MLP 784-256-256-10 (linear, optional batch norm, "
      "ReLU, twice; linear; softmax cross-entropy; [examples/mlp_model.hpp](../examples/mlp_model.hpp)) trained on "
      "Fashion-MNIST (60,000 training images, 10,000 test images, Debian's `dataset-fashion-mnist`) with SGD with "
      "momentum 0.9, mini-batches of 128 shuffled each epoch, inputs standardized with the training set's mean and "
      "standard deviation, PyTorch's nn.Linear initialization. Every gradient is derived by ctgrad, the update is a ctgrad "
      "plan too. Batch norm: training mode (batch statistics) while training, with running estimates in the reference "
      "convention (running = 0.9 running + 0.1 batch, biased variance); inference mode (running estimates) for the test "
      "accuracy.\n")
    w(f"Regenerate (about {sum(r['wall'] for r in runs + scan) / 60:.0f} minutes on this machine):\n")
    w("```sh\ncmake --build build --target train_mlp\n" + cmdline + "\n```\n")
    w(f"Run {started}: {a.epochs} epochs, seeds {', '.join(map(str, a.seeds))}, learning rates {a.lr} and {a.high_lr}, one "
      f"thread (`--threads 1`, `OPENBLAS_NUM_THREADS=1`), {os.cpu_count()} CPUs shared with other work (load average "
      f"{' '.join(load_before)} before, {' '.join(load_after)} after), {platform.machine()}.\n")

    w("## Choosing the high learning rate\n")
    w(f"Test accuracy after each of {a.scan_epochs} epochs, seed {a.seeds[0]}, for the learning rates tried "
      "(the high rate of the experiment is picked from here: where plain SGD is clearly worse than at "
      f"{a.lr} or unstable):\n")
    w("| learning rate | plain: test accuracy per epoch | plain: train loss per epoch | batch norm: test accuracy per epoch | batch norm: train loss per epoch |")
    w("|---|---|---|---|---|")
    for lr in a.scan:
        cells = []
        for bn in ("off", "on"):
            r = next(r for r in scan if r["bn"] == bn and r["lr"] == lr)
            cells.append(", ".join(f"{p['acc'] * 100:.1f}%" for p in r["rows"]))
            cells.append(", ".join(fmt_loss(p["loss"]) for p in r["rows"]))
        w(f"| {lr} | " + " | ".join(cells) + " |")
    w("")

    w("## Epochs to reach 85% and 88% test accuracy\n")
    w("Per run (\"—\": not reached within the epochs run), with the best and the final test accuracy and the number of "
      "epochs after which the test accuracy fell by more than one point (a measure of instability):\n")
    w("| variant | seed | epochs to 85% | epochs to 88% | best accuracy | final accuracy | final train loss | drops > 1 point |")
    w("|---|---|---|---|---|---|---|---|")
    for lr in lrs:
        for bn in ("off", "on"):
            for r in sel(bn, lr):
                e85, e88 = (first_epoch_reaching(r["rows"], t) for t in THRESHOLDS)
                best = max(p["acc"] for p in r["rows"])
                w(f"| {variant_label(bn, lr)} | {r['seed']} | {e85 or '—'} | {e88 or '—'} | {best * 100:.2f}% | "
                  f"{r['rows'][-1]['acc'] * 100:.2f}% | {fmt_loss(r['rows'][-1]['loss'])} | {drops(r)} |")
    w("")
    w("Means over the seeds:\n")
    w("| variant | epochs to 85% | epochs to 88% | final accuracy (mean ± sd) | final train loss | drops > 1 point (total) |")
    w("|---|---|---|---|---|---|")
    summary = {}
    for lr in lrs:
        for bn in ("off", "on"):
            s = sel(bn, lr)
            e85, e88 = (mean_or_none(reach(bn, lr, t)) for t in THRESHOLDS)
            n85, n88 = (sum(x is not None for x in reach(bn, lr, t)) for t in THRESHOLDS)
            finals = [r["rows"][-1]["acc"] for r in s]
            sd = statistics.stdev(finals) if len(finals) > 1 else 0.0
            summary[(bn, lr)] = dict(e85=e85, e88=e88, n85=n85, n88=n88, final=statistics.mean(finals), sd=sd,
                                     drops=sum(drops(r) for r in s), loss=statistics.mean(r["rows"][-1]["loss"] for r in s))
            q = summary[(bn, lr)]
            f85 = f"{e85:.1f}" if e85 is not None else f"— ({n85} of {len(s)} runs reach it)"
            f88 = f"{e88:.1f}" if e88 is not None else f"— ({n88} of {len(s)} runs reach it)"
            w(f"| {variant_label(bn, lr)} | {f85} | {f88} | {q['final'] * 100:.2f}% ± {sd * 100:.2f} | {fmt_loss(q['loss'])} | {q['drops']} |")
    w("")
    w("![test accuracy against epoch](training_accuracy.svg)\n")

    w("## Verdict\n")
    for lr in lrs:
        p, b = summary[("off", lr)], summary[("on", lr)]
        parts = []
        for t, key, nkey in ((85, "e85", "n85"), (88, "e88", "n88")):
            if p[key] is not None and b[key] is not None:
                ratio = p[key] / b[key]
                parts.append(f"{t}% after {b[key]:.1f} epochs with batch norm against {p[key]:.1f} without "
                             f"({ratio:.1f}x {'fewer' if ratio > 1 else 'more' if ratio < 1 else 'as many'})")
            else:
                parts.append(f"{t}%: {b[nkey]} of {len(a.seeds)} batch-norm runs and {p[nkey]} of {len(a.seeds)} plain runs "
                             f"reach it within {a.epochs} epochs"
                             + (f" (batch norm after {b[key]:.1f} epochs)" if b[key] is not None else "")
                             + (f" (plain after {p[key]:.1f} epochs)" if p[key] is not None else ""))
        w(f"- **Learning rate {lr}**: " + "; ".join(parts) + f". Final test accuracy {b['final'] * 100:.2f}% ± {b['sd'] * 100:.2f} "
          f"with batch norm, {p['final'] * 100:.2f}% ± {p['sd'] * 100:.2f} without; drops of the test accuracy by more than "
          f"one point: {b['drops']} with batch norm, {p['drops']} without (over {len(a.seeds)} runs of {a.epochs} epochs).")
    w("")
    lo_p, lo_b, hi_p, hi_b = summary[("off", a.lr)], summary[("on", a.lr)], summary[("off", a.high_lr)], summary[("on", a.high_lr)]

    def fewer(b, p, key):
        return b[key] is not None and (p[key] is None or b[key] < p[key])

    fewer_all = all(fewer(b, p, k) for (b, p) in ((lo_b, lo_p), (hi_b, hi_p)) for k in ("e85", "e88"))
    fewer_any = any(fewer(b, p, k) for (b, p) in ((lo_b, lo_p), (hi_b, hi_p)) for k in ("e85", "e88"))
    stabler = hi_b["drops"] < hi_p["drops"] or (hi_b["sd"] < hi_p["sd"] and hi_b["final"] > hi_p["final"])
    w("On these numbers, the claim that batch norm reduces the number of epochs required "
      + ("**holds**: with batch norm every threshold is reached in fewer epochs at both learning rates"
         if fewer_all else
         "**holds only in part**: batch norm reaches some thresholds sooner, not all" if fewer_any else
         "**does not hold**: batch norm does not reach the thresholds sooner")
      + "; and that it stabilizes learning at the high learning rate "
      + ("**holds**: fewer drops of the test accuracy, or a higher and less seed-dependent final accuracy, with batch norm"
         if stabler else "**is not shown**: batch norm has as many drops of the test accuracy and no better final accuracy")
      + ". How large \"significantly\" is: the ratios above. The test accuracy is measured once per epoch on the whole "
        "test set; with three seeds, differences of a fraction of an epoch or of a few tenths of a point are within the "
        "spread between seeds (the ± columns).\n")

    w("## Speed\n")
    per_epoch = {bn: statistics.median(p["train_s"] for r in runs if r["bn"] == bn for p in r["rows"]) for bn in ("off", "on")}
    evals = statistics.median(p["eval_s"] for r in runs for p in r["rows"])
    w(f"Median training seconds per epoch (469 steps, one thread, on a shared machine): {per_epoch['off']:.2f} s without "
      f"batch norm, {per_epoch['on']:.2f} s with; the test evaluation (10,000 images) {evals:.2f} s. Each run reports "
      "the allocations of its reused plans, for example: `" + runs[-1]["alloc"] + "`.\n")
    with open(a.out, "w") as f:
        f.write("\n".join(md))
    print(f"wrote {a.out} and {a.svg}")


if __name__ == "__main__":
    main()
