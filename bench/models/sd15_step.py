"""Python torch side of bench/models/run.ts: sd-scripts' UNet (library/original_unet.py, pure
torch) at SD1.5 size, random weights, one forward+backward at 32x32 latents, batch 1, frozen
weights, gradient to the input. Prints one JSON line. Not a test.
Usage: python3 sd15_step.py SRC_DIR THREADS REPS   (SRC_DIR holds library/original_unet.py)"""
import json
import resource
import statistics
import sys
import time

src, threads, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sys.path.insert(0, src)

import torch  # noqa: E402
from library.original_unet import UNet2DConditionModel  # noqa: E402

torch.set_num_threads(threads)
torch.manual_seed(0)


def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


t0 = time.perf_counter()
# SD1.5: sd-scripts' create_unet_diffusers_config values for v1.
unet = UNet2DConditionModel(sample_size=64, attention_head_dim=8, cross_attention_dim=768, use_linear_projection=False)
unet.requires_grad_(False)
unet.train()
build_s = time.perf_counter() - t0
rss_after_build = rss_mib()

x = torch.randn(1, 4, 32, 32)
ctx = torch.randn(1, 77, 768)
t = torch.tensor([500])


def step():
    start = time.perf_counter()
    cpu = time.process_time()
    inp = x.detach().requires_grad_()
    out = unet(inp, t, ctx).sample
    loss = out.square().mean()
    loss.backward()
    g = inp.grad.abs().mean().item()
    return time.perf_counter() - start, time.process_time() - cpu, g


warm_s, _, grad_abs = step()
runs = [step() for _ in range(reps)]
times = [r[0] for r in runs]
print(
    json.dumps(
        {
            "side": "python",
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "params": sum(p.numel() for p in unet.parameters()),
            "buildS": build_s,
            "warmS": warm_s,
            "times": times,
            "cpuTimes": [r[1] for r in runs],
            "medianS": statistics.median(times),
            "gradAbsMean": grad_abs,
            "rssAfterBuildMiB": rss_after_build,
            "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )
)
