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
--reuse rewrites the document from the CSV and log files of an earlier run (and its date and load,
kept in --work/run.json) instead of training again; train_mlp is deterministic for a given seed.
Python 3 standard library only.
"""
import argparse
import csv
import json
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
CLIP = 0.80  # lowest test accuracy the plot shows


def run(exe, work, bn, lr, seed, epochs, reuse):
    name = f"bn-{bn}_lr-{lr}_seed-{seed}_epochs-{epochs}"
    path, log = os.path.join(work, name + ".csv"), os.path.join(work, name + ".log")
    cmd = [exe, "--bn", bn, "--lr", str(lr), "--seed", str(seed), "--epochs", str(epochs), "--threads", "1", "--csv", path]
    t0 = time.monotonic()
    if reuse and os.path.exists(path) and os.path.exists(log):
        print(f"reusing {path} and {log}", flush=True)
        with open(log) as f:
            stdout = f.read()
    else:
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
        print("$ OPENBLAS_NUM_THREADS=1 " + " ".join(cmd), flush=True)
        p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        sys.stdout.write(p.stdout)
        if p.returncode != 0:
            sys.exit(f"train_mlp_experiment.py: {' '.join(cmd)} exited with status {p.returncode}")
        stdout = p.stdout
        with open(log, "w") as f:
            f.write(stdout)
    with open(path, newline="") as f:
        rows = [dict(epoch=int(r["epoch"]), loss=float(r["train_loss"]), acc=float(r["test_accuracy"]),
                     train_s=float(r["train_seconds"]), eval_s=float(r["eval_seconds"])) for r in csv.DictReader(f)]
    if len(rows) != epochs:
        sys.exit(f"train_mlp_experiment.py: {path} has {len(rows)} rows, expected {epochs}")
    alloc = [l for l in stdout.splitlines() if "operator new calls" in l]
    if not alloc or "during steps 2.." not in alloc[0]:
        sys.exit(f"train_mlp_experiment.py: the output of {' '.join(cmd)} has no allocation line")
    wall = sum(r["train_s"] + r["eval_s"] for r in rows)
    return dict(bn=bn, lr=lr, seed=seed, rows=rows, wall=wall, alloc=alloc[0])


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
    pw, ph, ml, mr, mt, mb = 430, 360, 60, 20, 40, 50
    width, height = ml + len(lrs) * (pw + mr) + 10, mt + ph + mb + 45
    accs = [r["acc"] for run_ in runs for r in run_["rows"] if not math.isnan(r["acc"])]
    # the interesting range is near the thresholds: accuracies below CLIP are drawn on the bottom edge
    lo = max(CLIP, math.floor(min(accs) * 100) / 100)
    hi = min(1.0, math.ceil(max(accs) * 100) / 100 + 0.0001)
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
    ly = height - 28
    for i, (bn, label) in enumerate((("off", "plain SGD (no batch norm)"), ("on", "batch norm (training mode; inference mode for the test)"))):
        lx = ml + i * 260
        out.append(f'<line x1="{lx}" y1="{ly - 4}" x2="{lx + 25}" y2="{ly - 4}" stroke="{colors[bn]}" stroke-width="2.5"/>')
        out.append(f'<text x="{lx + 30}" y="{ly}">{label}</text>')
    out.append(f'<text x="{ml}" y="{height - 8}" fill="#666">thin: one seed; thick: mean of the seeds; '
               f'dashed: 85%, 88%; below {lo * 100:.0f}%: on the bottom edge</text>')
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
    ap.add_argument("--reuse", action="store_true",
                    help="read the CSV and log of a run from --work when both exist instead of running it again")
    a = ap.parse_args()
    if not os.access(a.train_mlp, os.X_OK):
        sys.exit(f"train_mlp_experiment.py: {a.train_mlp} is not an executable; build it: cmake --build build --target train_mlp")
    os.makedirs(a.work, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_before = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else ["?"] * 3

    meta_path = os.path.join(a.work, "run.json")
    reused_before = a.reuse and os.path.exists(meta_path)
    scan = [run(a.train_mlp, a.work, bn, lr, a.seeds[0], a.scan_epochs, a.reuse) for lr in a.scan for bn in ("off", "on")]
    lrs = [a.lr, a.high_lr]
    runs = [run(a.train_mlp, a.work, bn, lr, seed, a.epochs, a.reuse) for lr in lrs for bn in ("off", "on") for seed in a.seeds]
    load_after = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else ["?"] * 3
    if reused_before:  # the date and load of the run that produced the reused files
        with open(meta_path) as f:
            meta = json.load(f)
        started, load_before, load_after = meta["started"], meta["load_before"], meta["load_after"]
    else:
        with open(meta_path, "w") as f:
            json.dump(dict(started=started, load_before=load_before, load_after=load_after), f)
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
    w(f"Regenerate (training and testing took {sum(r['wall'] for r in runs + scan) / 60:.0f} minutes of the run below, "
      "plus reading the data for each run):\n")
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

    w("## Per epoch\n")
    w("Test accuracy (batch norm in inference mode) and mean training loss of each epoch, per run:\n")
    for lr in lrs:
        for bn in ("off", "on"):
            s_ = sel(bn, lr)
            w(f"### {variant_label(bn, lr)}\n")
            w("| epoch | " + " | ".join(f"seed {r['seed']}: accuracy | seed {r['seed']}: loss" for r in s_) + " | mean accuracy |")
            w("|---:|" + "---:|---:|" * len(s_) + "---:|")
            for i in range(a.epochs):
                cells = []
                for r in s_:
                    cells += [f"{r['rows'][i]['acc'] * 100:.2f}%", fmt_loss(r["rows"][i]["loss"])]
                w(f"| {i + 1} | " + " | ".join(cells) + f" | {statistics.mean(r['rows'][i]['acc'] for r in s_) * 100:.2f}% |")
            w("")

    w("## Verdict\n")

    def spread(bn, lr, key):
        xs = reach(bn, lr, 0.85 if key == "e85" else 0.88)
        got = [x for x in xs if x is not None]
        return f"{min(got)}-{max(got)}" if got and min(got) != max(got) else (str(got[0]) if got else "—")

    def compare(lr, key, t):
        p, b = summary[("off", lr)], summary[("on", lr)]
        nkey = "n" + key[1:]
        if p[key] is not None and b[key] is not None:
            pb, bb = reach("off", lr, t / 100), reach("on", lr, t / 100)
            gap = min(pb) - max(bb)
            return (f"{t}% after {b[key]:.1f} epochs with batch norm (runs: {spread('on', lr, key)}) against {p[key]:.1f} without "
                    f"({spread('off', lr, key)}): {p[key] - b[key]:.1f} epochs fewer, "
                    + ("every batch-norm run at least two epochs before every plain one" if gap >= 2 else
                       "every batch-norm run before every plain one, the closest pair one epoch apart" if gap >= 1 else
                       "but the runs overlap"))
        return (f"{t}%: {b[nkey]} of {len(a.seeds)} batch-norm runs reach it"
                + (f" (after {b[key]:.1f} epochs on average)" if b[key] is not None else "")
                + f", {p[nkey]} of {len(a.seeds)} plain runs within {a.epochs} epochs")

    for lr in lrs:
        p, b = summary[("off", lr)], summary[("on", lr)]
        w(f"- **Learning rate {lr}**: " + "; ".join(compare(lr, k, t) for k, t in (("e85", 85), ("e88", 88)))
          + f". Final test accuracy {b['final'] * 100:.2f}% ± {b['sd'] * 100:.2f} with batch norm, {p['final'] * 100:.2f}% ± "
          f"{p['sd'] * 100:.2f} without; final training loss {fmt_loss(b['loss'])} against {fmt_loss(p['loss'])}; drops of the "
          f"test accuracy by more than one point: {b['drops']} with batch norm, {p['drops']} without ({len(a.seeds)} runs of "
          f"{a.epochs} epochs).")
    w("")
    lo_p, lo_b, hi_p, hi_b = summary[("off", a.lr)], summary[("on", a.lr)], summary[("off", a.high_lr)], summary[("on", a.high_lr)]
    plain_fails_high = hi_p["e85"] is None
    w("What the numbers say about the claim:\n")
    if lo_b["e85"] is not None and lo_p["e85"] is not None and lo_b["e88"] is not None and lo_p["e88"] is not None:
        gap88 = min(reach("off", a.lr, 0.88)) - max(reach("on", a.lr, 0.88))
        w(f"- *Fewer epochs where plain SGD trains well* (lr {a.lr}): batch norm saves {lo_p['e85'] - lo_b['e85']:.1f} epochs to "
          f"85% and {lo_p['e88'] - lo_b['e88']:.1f} to 88% on average ({lo_p['e88'] / lo_b['e88']:.2f}x fewer), and its final "
          f"test accuracy is {abs(lo_b['final'] - lo_p['final']) * 100:.2f} points {'higher' if lo_b['final'] >= lo_p['final'] else 'lower'}. "
          + ("A real but modest saving: the epochs to 88% of single runs overlap, so with three seeds it is not a large, "
             "reliable reduction." if gap88 < 1 else
             "Every batch-norm run reaches 88% before every plain run, but the closest pair is one epoch apart: a saving of "
             "the order of the spread between runs (see the sensitivity note below)." if gap88 < 2 else
             "Every batch-norm run reaches 88% at least two epochs before every plain run."))
    if plain_fails_high and hi_b["e88"] is not None:
        w(f"- *Stability at a high learning rate* (lr {a.high_lr}): plain SGD does not reach 85% in any run (its best epochs "
          f"reach {max(max(r_['acc'] for r_ in r['rows']) for r in sel('off', a.high_lr)) * 100:.1f}%, then the test accuracy "
          f"falls, to {hi_p['final'] * 100:.1f}% on average at epoch {a.epochs}), while batch norm trains as well as at lr "
          f"{a.lr} ({hi_b['final'] * 100:.2f}% final, 88% after {hi_b['e88']:.1f} epochs). Here the claim holds strongly: "
          "batch norm is what makes this learning rate usable at all.")
    else:
        w(f"- *Stability at a high learning rate* (lr {a.high_lr}): see the rows above; plain SGD reaches 85% in "
          f"{hi_p['n85']} of {len(a.seeds)} runs, batch norm in {hi_b['n85']}.")
    lo_reach_b, lo_reach_p = reach("on", a.lr, 0.88), reach("off", a.lr, 0.88)
    modest = (None in lo_reach_b or None in lo_reach_p or lo_p["e88"] / lo_b["e88"] < 1.5
              or min(lo_reach_p) - max(lo_reach_b) < 2)
    if plain_fails_high and modest:
        w("- Both parts together: the reference's sentence is borne out as *batch norm lets SGD train at learning rates where "
          "it otherwise fails, and reaches a given accuracy somewhat sooner at a rate where it does not*: \"stabilizes\" and "
          "\"significantly reduces the number of epochs\" are accurate against a plain network at a high learning rate; "
          f"against one at a well-chosen learning rate the saving ({lo_p['e88'] - lo_b['e88']:.1f} epochs to 88% on average) "
          "is of the order of the variation between runs, on this model and data (one MLP, Fashion-MNIST, "
          f"{len(a.seeds)} seeds).")
    elif plain_fails_high:
        w("- Both parts together: the claim holds at both learning rates on this model and data: batch norm reaches each "
          "threshold clearly sooner, and it trains where plain SGD fails.")
    elif modest:
        w("- Both parts together: at these learning rates plain SGD trains too, and batch norm saves only a few epochs: the "
          "claim is not borne out as a significant reduction on this model and data.")
    else:
        w("- Both parts together: batch norm reaches each threshold clearly sooner at both learning rates.")
    per_epoch = {bn: statistics.median(p_["train_s"] for r in runs if r["bn"] == bn for p_ in r["rows"]) for bn in ("off", "on")}
    w("\n**Sensitivity.** Training is chaotic: rounding-level changes move single runs. The same command on commit "
      "a2762a5 (this branch before main's changes of issue 18 were merged, which changed float rounding in counts and in "
      "batch norm's statistics; `git show a2762a5:docs/training.md`) gave, at lr 0.01, 88% after 6, 7, 7 epochs without "
      "batch norm and 7, 5, 3 with it (overlapping runs, 1.7 epochs saved on average), the same 85% result (2 against 1 "
      "epoch in every run) and the same picture at lr 0.2 (no plain run reaches 85%; batch norm reaches 88% after 5, 6, 3 "
      "epochs). Differences of an epoch or two at 88% are within this variation.")
    w(f"\nThe comparison counts epochs; a training epoch with batch norm took {per_epoch['on']:.2f} s against "
      f"{per_epoch['off']:.2f} s without (median, below), {(per_epoch['on'] / per_epoch['off'] - 1) * 100:+.0f}%.\n")

    w("## Speed\n")
    evals = statistics.median(p["eval_s"] for r in runs for p in r["rows"])
    w(f"Median training seconds per epoch (469 steps, one thread, on a shared machine): {per_epoch['off']:.2f} s without "
      f"batch norm, {per_epoch['on']:.2f} s with; the test evaluation (10,000 images) {evals:.2f} s. Each run reports "
      "the allocations of its reused plans, for example: `" + runs[-1]["alloc"] + "`.\n")
    with open(a.out, "w") as f:
        f.write("\n".join(md))
    print(f"wrote {a.out} and {a.svg}")


if __name__ == "__main__":
    main()
