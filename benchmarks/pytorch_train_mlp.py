#!/usr/bin/env python3
"""The model of examples/train_mlp.cpp trained by PyTorch, for the seconds-per-epoch comparison of
docs/performance.md (issue 16, point 5). Not a dependency of anything; needs torch and numpy.

    OPENBLAS_NUM_THREADS=1 python3 benchmarks/pytorch_train_mlp.py [--epochs 3] [--bn on|off] [--lr 0.01]
        [--seed 1] [--data /usr/share/datasets/fashion-mnist]

Same as train_mlp: MLP 784-256-256-10 (linear, optional BatchNorm1d, ReLU, twice; linear), cross-entropy,
torch.optim.SGD(momentum=0.9), batches of 128 shuffled each epoch, inputs standardized with the training
images' mean and standard deviation, one thread (torch.set_num_threads(1)). Prints a line per epoch:
epoch, train loss, test accuracy, training seconds (the timed part: shuffling, batches, forward, backward,
step; as train_mlp's "s").

Note: PyTorch's BatchNorm1d keeps its running variance unbiased (train_mlp's --momentum-convention pytorch).
"""
import argparse
import gzip
import struct
import time

import numpy as np
import torch
from torch import nn


def read_idx(path, magic, dims):
    with gzip.open(path, "rb") as f:
        data = f.read()
    got = struct.unpack(">I", data[:4])[0]
    if got != magic:
        raise SystemExit(f"{path}: magic number 0x{got:08x}, not 0x{magic:08x}")
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--bn", choices=["on", "off"], default="off")
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    d = a.data
    xtr = read_idx(f"{d}/train-images-idx3-ubyte.gz", 0x803, 3).reshape(-1, 784).astype(np.float64) / 255.0
    ytr = read_idx(f"{d}/train-labels-idx1-ubyte.gz", 0x801, 1).astype(np.int64)
    xte = read_idx(f"{d}/t10k-images-idx3-ubyte.gz", 0x803, 3).reshape(-1, 784).astype(np.float64) / 255.0
    yte = read_idx(f"{d}/t10k-labels-idx1-ubyte.gz", 0x801, 1).astype(np.int64)
    mean, std = xtr.mean(), xtr.std()
    xtr = torch.tensor((xtr - mean) / std, dtype=torch.float32)
    xte = torch.tensor((xte - mean) / std, dtype=torch.float32)
    ytr, yte = torch.tensor(ytr), torch.tensor(yte)

    def block(i, o):
        return [nn.Linear(i, o)] + ([nn.BatchNorm1d(o)] if a.bn == "on" else []) + [nn.ReLU()]

    model = nn.Sequential(*block(784, 256), *block(256, 256), nn.Linear(256, 10))
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread(s), batch norm {a.bn}, lr {a.lr}")
    for epoch in range(1, a.epochs + 1):
        model.train()
        t0 = time.perf_counter()
        order = torch.randperm(len(xtr))
        total = 0.0
        for s in range(0, len(xtr), 128):
            idx = order[s:s + 128]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        t1 = time.perf_counter()
        model.eval()
        with torch.no_grad():
            acc = (model(xte).argmax(1) == yte).float().mean().item()
        print(f"epoch {epoch:>3}  train loss {total / len(xtr):.4f}  test accuracy {acc * 100:6.2f}%  {t1 - t0:.2f} s")


if __name__ == "__main__":
    main()
