"""The timing the PyTorch comparison scripts share (benchmarks/pytorch_*.py)."""
import statistics
import time


def median_ms(call, reps):
    """Runs call() reps times; the medians of wall-clock and of process CPU time, in ms."""
    walls, cpus = [], []
    for _ in range(reps):
        w0, c0 = time.perf_counter(), time.process_time()
        call()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls) * 1e3, statistics.median(cpus) * 1e3
