"""The same measurements as bench/engine/run.ts in Python torch (Debian's python3-torch is the
same libtorch 1.13), printed as one JSON object. Called by run.ts; not a test."""
import json
import sys
import time

import torch

threads = int(sys.argv[1])
n_ops = int(sys.argv[2])
torch.set_num_threads(threads)
out = {"torch": torch.__version__, "threads": torch.get_num_threads()}


def small_ops(n):
    a = torch.randn(16)
    b = torch.randn(16)
    for _ in range(n // 8):
        c = a + b
        d = c * a
        e = d - b
        f = torch.sigmoid(e)
        g = f * 0.5
        h = torch.tanh(g)
        i = h / (b.abs() + 1)  # 2 ops
    return None


small_ops(20000)
best = 0.0
for _ in range(5):
    t = time.perf_counter()
    small_ops(n_ops)
    best = max(best, n_ops / (time.perf_counter() - t))
out["small_ops_per_s"] = best

# Best of 5 rounds, as run.ts does.
for n in (1024, 4096):
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    reps = 20 if n == 1024 else 3
    best = 0.0
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(reps):
            torch.mm(a, b)
        dt = (time.perf_counter() - t) / reps
        best = max(best, 2 * n**3 / dt / 1e9)
    out[f"matmul{n}_gflops"] = best

print(json.dumps(out))
