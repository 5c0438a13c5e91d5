# Reference Prodigy step in Python torch for bench/optim/run.ts, written for lyco from the
# algorithm in shared/research/spec-training.md section 2.2 (prodigyopt 1.1.2 semantics: per-tensor
# ops, one .item() per reduction). Reads shapes from argv[1]; prints JSON timings.
import json, math, sys, time
import torch

spec = json.load(open(sys.argv[1]))
torch.set_num_threads(spec["threads"])
torch.manual_seed(0)
groups = []
for g in spec["groups"]:
    ps = [torch.zeros(s) if z else torch.randn(s) * 0.1 for s, z in zip(g["shapes"], g["zero"])]
    groups.append(ps)
targets = {p: torch.randn_like(p) * 0.1 for ps in groups for p in ps}

def set_grads():  # gradient of 0.5*|p - target|^2, as in run.ts; not timed
    for ps in groups:
        for p in ps:
            p.grad = p - targets[p]

beta1, beta2, eps, wd, d0 = 0.9, 0.999, 1e-8, 0.05, 1e-6
beta3 = math.sqrt(beta2)
st = {"d": d0, "d_max": d0, "num": 0.0, "k": 0}
state = {}

@torch.no_grad()
def step():
    d, lr = st["d"], 1.0
    dlr = d * lr
    num = st["num"] * beta3
    delta, denom_sum = 0.0, 0.0
    for ps in groups:
        for p in ps:
            g = p.grad
            s = state.get(p)
            if s is None:
                flat = p.flatten()
                s = state[p] = {
                    "s": torch.zeros_like(flat),
                    "p0": flat.clone() if p.any() else torch.tensor(0.0, dtype=p.dtype),
                    "m": torch.zeros_like(p),
                    "v": torch.zeros_like(p),
                }
            gf = g.flatten()
            delta += (d / d0) * dlr * torch.dot(gf, s["p0"] - p.flatten()).item()
            s["m"].mul_(beta1).add_(g, alpha=d * (1 - beta1))
            s["v"].mul_(beta2).addcmul_(g, g, value=d * d * (1 - beta2))
            s["s"].mul_(beta3).add_(gf, alpha=(d / d0) * dlr)
            denom_sum += s["s"].abs().sum().item()
    if denom_sum == 0:
        return
    num += delta
    d_hat = num / denom_sum
    if d == d0:
        d = max(d, d_hat)
    st["d_max"] = max(st["d_max"], d_hat)
    d = min(st["d_max"], d * math.inf)
    for ps in groups:
        for p in ps:
            s = state[p]
            den = s["v"].sqrt().add_(d * eps)
            p.add_(p, alpha=-wd * dlr)
            p.addcdiv_(s["m"], den, value=-dlr)
    st.update(d=d, num=num, k=st["k"] + 1)

times = []
for i in range(spec["warmup"] + spec["steps"]):
    set_grads()
    t0 = time.perf_counter()
    step()
    if i >= spec["warmup"]:
        times.append(time.perf_counter() - t0)
ms = sorted(times)[len(times) // 2] * 1000  # median, as run.ts
print(json.dumps({"ms_per_step": ms, "torch": torch.__version__, "threads": torch.get_num_threads(), "d": st["d"]}))
