#!/usr/bin/python3
"""PyTorch's layer norm and softmax cross-entropy, forward + backward, float32, one thread: the
figures docs/performance.md, section 6, records next to bench_row_reductions (issue 14, point 5).

PyTorch is not a dependency of ctgrad or of its tests: install it only to reproduce these figures
(Debian: `apt-get install python3-torch`; run with the system interpreter, /usr/bin/python3).

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 benchmarks/pytorch_row_reductions.py

The same work as bench_row_reductions: layer norm y = F.layer_norm(x, (n,), gamma, beta, 1e-5),
then y.backward(dy) (dx, dgamma, dbeta); softmax cross-entropy loss = F.cross_entropy(z, t) with
one-hot probability rows t (mean over rows), then loss.backward() (dz). Each result is first
checked against float64 closed forms. Times: median over the repetitions of wall-clock and of
process CPU time (the latter for a busy shared machine).
"""
import sys

from pytorch_timing import median_ms

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    sys.exit("pytorch_row_reductions.py: PyTorch is not installed (Debian: apt-get install python3-torch; "
             "run with /usr/bin/python3)")

LAYER_NORM = [(4096, 1024), (16384, 256), (8192, 4096)]
CROSS_ENTROPY = [(4096, 1000)]
EPS = 1e-5


def close(got, want):
    return torch.allclose(got.double(), want, rtol=1e-4, atol=1e-4 * float(want.abs().max()))


def main():
    torch.set_num_threads(1)
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread; float32; median of the repetitions")
    print()
    print("| forward + backward | wall (ms) | CPU (ms) |")
    print("|---|---|---|")
    for m, n in LAYER_NORM:
        g = torch.Generator().manual_seed(1)
        x = (torch.rand(m, n, generator=g) * 5 - 2).requires_grad_(True)
        dy = torch.rand(m, n, generator=g) * 2 - 1
        gamma = (torch.rand(n, generator=g) + 0.5).requires_grad_(True)
        beta = (torch.rand(n, generator=g) - 0.5).requires_grad_(True)

        def call():
            x.grad = gamma.grad = beta.grad = None
            y = F.layer_norm(x, (n,), gamma, beta, EPS)
            y.backward(dy)
            return y

        y = call()
        xd, dyd, gd = x.detach().double(), dy.double(), gamma.detach().double()
        mean = xd.mean(1, keepdim=True)
        rstd = 1 / torch.sqrt(((xd - mean) ** 2).mean(1, keepdim=True) + EPS)
        xhat = (xd - mean) * rstd
        gx = dyd * gd
        dx = rstd * (gx - gx.mean(1, keepdim=True) - xhat * (gx * xhat).mean(1, keepdim=True))
        for got, want in [(y.detach(), gd * xhat + beta.detach().double()), (x.grad, dx),
                          (gamma.grad, (dyd * xhat).sum(0)), (beta.grad, dyd.sum(0))]:
            if not close(got, want):
                sys.exit(f"pytorch_row_reductions.py: PyTorch's layer norm differs from float64 at {m}x{n}")
        wall, cpu = median_ms(call, max(7, int(4e9 / (m * n * 10))))
        print(f"| layer norm {m}x{n} | {wall:.3f} | {cpu:.3f} |")
    for m, k in CROSS_ENTROPY:
        g = torch.Generator().manual_seed(5)
        z = (torch.rand(m, k, generator=g) * 16 - 8).requires_grad_(True)
        t = torch.zeros(m, k)
        t[torch.arange(m), (torch.arange(m) * 7919) % k] = 1

        def call():
            z.grad = None
            loss = F.cross_entropy(z, t)
            loss.backward()
            return loss

        loss = call()
        zd = z.detach().double()
        p = torch.softmax(zd, 1)
        if not close(loss.detach().reshape(1), -(t.double() * torch.log_softmax(zd, 1)).sum(1).mean().reshape(1)) \
                or not close(z.grad, (p - t.double()) / m):
            sys.exit(f"pytorch_row_reductions.py: PyTorch's cross-entropy differs from float64 at {m}x{k}")
        wall, cpu = median_ms(call, max(7, int(4e9 / (m * k * 10))))
        print(f"| softmax cross-entropy {m}x{k} | {wall:.3f} | {cpu:.3f} |")


if __name__ == "__main__":
    main()
