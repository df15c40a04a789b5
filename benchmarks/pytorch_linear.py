#!/usr/bin/python3
"""PyTorch's F.linear forward + backward, float32, one thread: the figure docs/performance.md,
section 7, records next to bench_linear (issue 15, point 5).

PyTorch is not a dependency of ctgrad or of its tests: install it only to reproduce this figure
(Debian: `apt-get install python3-torch`; run with the system interpreter, /usr/bin/python3).

    /usr/bin/python3 benchmarks/pytorch_linear.py

One timed call: y = F.linear(x, W_t, b) with W_t of shape n x k (PyTorch's layout), then
y.backward(dy), which leaves dx, dW_t and db in the tensors' .grad (set to None before each
call). Each size is first checked against float64 matrix products. Times: median over the
repetitions of wall-clock and of process CPU time (the latter for a busy shared machine).
"""
import sys

from pytorch_timing import median_ms

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    sys.exit("pytorch_linear.py: PyTorch is not installed (Debian: apt-get install python3-torch; run with /usr/bin/python3)")

SIZES = [(256, 784, 256), (1024, 1024, 1024), (4096, 256, 10)]


def main():
    torch.set_num_threads(1)
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread; float32; median of the repetitions")
    print()
    print("| linear layer forward + backward | wall (ms) | CPU (ms) |")
    print("|---|---|---|")
    for m, k, n in SIZES:
        g = torch.Generator().manual_seed(7)
        x = torch.randn(m, k, generator=g).requires_grad_(True)
        wt = (0.1 * torch.randn(n, k, generator=g)).requires_grad_(True)
        b = torch.randn(n, generator=g).requires_grad_(True)
        dy = torch.randn(m, n, generator=g)

        def call():
            x.grad = wt.grad = b.grad = None
            y = F.linear(x, wt, b)
            y.backward(dy)
            return y

        y = call()
        xd, wd, dyd = x.detach().double(), wt.detach().double(), dy.double()
        checks = [(y.detach().double(), xd @ wd.T + b.detach().double()), (x.grad.double(), dyd @ wd),
                  (wt.grad.double(), dyd.T @ xd), (b.grad.double(), dyd.sum(0))]
        for got, want in checks:
            if not torch.allclose(got, want, rtol=1e-3, atol=1e-3 * float(want.abs().max())):
                sys.exit(f"pytorch_linear.py: PyTorch's result differs from float64 at {m}x{k}x{n}")
        reps = max(5, int(2e9 / (6 * m * k * n)))
        wall, cpu = median_ms(call, reps)
        print(f"| m={m}, k={k}, n={n} | {wall:.3f} | {cpu:.3f} |")


if __name__ == "__main__":
    main()
