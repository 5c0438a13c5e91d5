"""Python torch side of bench/train/run.ts (sd15 section): one optimizer step of a guide preset
(ia3 | lokr) as kohya_ss runs it, on sd-scripts' UNet at SD1.5 size, to set beside lyco's
bench/train/sd15-unet.ts. Not a test; prints one JSON line (or "not run: <why>", exit 2).

  SD_SCRIPTS_DIR=... LYCORIS_DIR=... PRODIGY_DIR=... /usr/bin/python3 sd15_step.py PRESET STEPS THREADS

Upstream code is imported, never kept in lyco: each *_DIR is a checkout or a git directory (bare or
mirror, read with `git --git-dir DIR show REF:path`), and the files this step runs are written to a
temp folder at start and imported from there:
  SD_SCRIPTS_DIR (SD_SCRIPTS_REF, default HEAD): library/original_unet.py (the UNet),
    library/custom_train_functions.py (pyramid_noise_like, apply_snr_weight,
    prepare_scheduler_for_custom_training), and from library/train_util.py, whose module imports
    pull in half of the ecosystem, only the functions get_timesteps,
    get_noise_noisy_latents_and_timesteps, get_huber_threshold_if_needed and conditional_loss,
    compiled out of the file's syntax tree.
  LYCORIS_DIR (LYCORIS_REF): the lycoris/ package; lycoris.kohya.create_network builds the network.
    Default ref: 3321e08 (LyCORIS 1.8.3, "1.8.3 quick fix"), the lycoris_lora==1.8.3 that kohya_ss
    v21.8.10 pins (requirements.txt) and whose behaviour lyco reproduces; when the git directory
    lacks that commit, HEAD. LYCORIS_REF=HEAD runs LyCORIS 3, which builds other networks: LoKr on
    282 modules (preset full's name targets conv_in, conv_out, time_embedding.linear_1/2, which 1.8
    never passed: lycoris/kohya/__init__.py:330) with no trainable `scalar` (1,102,400 values), and
    no iA3 at all (lycoris/wrapper.py's network_module_dict has no "ia3": KeyError, reported as
    "not run").
  PRODIGY_DIR (PRODIGY_REF, default HEAD = prodigyopt 1.1.2, the version lyco's Prodigy follows):
    prodigyopt/.
Third-party modules those files import but this step never calls (diffusers' DDPMScheduler is only
a type annotation in custom_train_functions; einops: attention paths not taken on CPU; safetensors
and tqdm: LyCORIS save/extract helpers; torchvision, timm, transformers, open_clip: LyCORIS 1.8's
HyperDreamBooth hypernetwork, imported by lycoris.kohya but unused) are placeholder modules when not
installed, whose every attribute raises if called. library.utils is a placeholder with a no-op
setup_logging (the real one pulls diffusers, cv2, torchvision). Everything else is upstream's code
running on Debian's torch 1.13, but for one torch >= 2 name: LyCORIS 1.8's
lycoris/modules/attention.py:65 reads torch.nn.functional.scaled_dot_product_attention at import
(hypernetwork attention table), so on torch 1.13 it is a placeholder that raises if called (no path
of this step calls it: sd-scripts' UNet uses it only with --sdpa).

The step (sd-scripts train_network.py, HEAD, as kohya_ss v21.8.10 lora_gui.py builds its command
line for the preset; the same resolved settings as lyco's config, see src/config/kohya-gui.ts):
  UNet: SD1.5 config (sample_size 64, heads 8, cross-attention 768), random frozen float32 weights
    (conv/linear ~ N(0, 0.02), norms 1, biases 0, as lyco's bench), requires_grad False; gradient
    checkpointing: unet.enable_gradient_checkpointing() + unet.train() (train_network.py:716-720,
    :900-903) and the inputs made to require grad (:279-283).
  network: lycoris.kohya.create_network(1.0, network_dim, network_alpha, vae, text_encoder, unet,
    neuron_dropout=network_dropout, dropout=network_dropout, **network_args) (train_network.py:
    663-687; `dropout` is sd-scripts' "workaround for LyCORIS", which neither LoKr nor iA3 applies),
    network_args as lora_gui.py:754-795 writes them, applied to the UNet only
    (--network_train_unet_only); scale_weight_norms dropped when the network has no
    apply_max_norm_regularization (train_network.py:698-702, LyCORIS 1.8's IA3Network);
    prepare_optimizer_params with the 3-argument call falling back to 2 (:740-754).
  optimizer: prodigyopt.Prodigy(params, lr=learning_rate, **optimizer_args) (train_util.get_optimizer),
    CosineAnnealingLR(T_max=200) stepped after it (lr_scheduler_type / lr_scheduler_args).
  noise and loss: multires noise (iterations 6, discount 0.1; kohya_ss passes no noise_offset with
    noise_offset_type Multires), timesteps random in [0, 1000), DDPM scaled-linear add_noise (a
    small local scheduler: diffusers is not installed), epsilon target, l2 loss per sample,
    min-SNR gamma 3, mean; backward; clip_grad_norm_(1.0); optimizer.step; lr_scheduler.step;
    zero_grad(set_to_none=True); max-norm 1 (LoKr).
Shapes: latents [1, 4, 32, 32] (already scaled), text states [1, 77, 768], batch 1. STEPS 0 builds
and reports the network only. The first step is left out of secondsPerStep (lazy allocations).
"""
import ast
import importlib.abc
import importlib.machinery
import json
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import types
import typing
from argparse import Namespace

# The presets as kohya_ss v21.8.10 passes them to sd-scripts (lora_gui.py:754-795, :932-936 for
# the guide's JSON: network_dim/alpha 8/1 and factor -1, use_cp False are the GUI's defaults for
# keys the iA3 preset does not set). Only the keys this step reads.
COMMON = {
    "learning_rate": 1.0,
    "unet_lr": 1.0,
    "text_encoder_lr": 1.0,
    "lr_scheduler_args": {"T_max": 200},
    "max_grad_norm": 1.0,
    "min_snr_gamma": 3.0,
    "multires_noise_iterations": 6,
    "multires_noise_discount": 0.1,
    "network_dropout": 0.3,
    "gradient_checkpointing": True,
}
PRESETS = {
    "ia3": {
        **COMMON,
        "network_dim": 8,
        "network_alpha": 1.0,
        "network_args": ["conv_dim=1", "conv_alpha=1", "train_on_input=True", "algo=ia3"],
        "optimizer_args": [],
        "scale_weight_norms": 1.0,
    },
    "lokr": {
        **COMMON,
        "network_dim": 1024,
        "network_alpha": 1024.0,
        "network_args": ["conv_dim=512", "conv_alpha=512", "factor=-1", "use_cp=False", "algo=lokr"],
        "optimizer_args": ["d_coef=1.0", "weight_decay=0.050", "safeguard_warmup=False", "use_bias_correction=False"],
        "scale_weight_norms": 1.0,
    },
}
LYCORIS_PINNED = "3321e08"  # LyCORIS 1.8.3 (kohya_ss v21.8.10 requirements.txt: lycoris_lora==1.8.3)
PLACEHOLDER_MODULES = {"diffusers", "einops", "safetensors", "tqdm", "torchvision", "timm", "transformers", "open_clip"}


def not_run(why):
    print(f"not run: {why}")
    sys.exit(2)


if len(sys.argv) != 4 or sys.argv[1] not in PRESETS:
    print(__doc__.split("\n\n")[0], file=sys.stderr)
    sys.exit(f"usage: {sys.argv[0]} ia3|lokr STEPS THREADS")
preset_name, steps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
P = PRESETS[preset_name]


# ---- upstream sources into a temp folder ----------------------------------------------------


class Source:
    """A checkout or a git directory at a ref; reads files and lists folders."""

    def __init__(self, env, path_probe, default_ref="HEAD"):
        self.dir = os.environ.get(env)
        if not self.dir:
            not_run(f"{env} not set")
        if not os.path.isdir(self.dir):
            not_run(f"{env}={self.dir}: no such directory")
        self.ref = os.environ.get(env.replace("_DIR", "_REF"))
        self.checkout = os.path.isfile(os.path.join(self.dir, path_probe))
        if self.checkout:
            self.desc = f"{self.dir} (checkout)"
            return
        ref = self.ref or default_ref
        commit = self._git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        if not commit and not self.ref and default_ref != "HEAD":
            ref, commit = "HEAD", self._git("rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
        if not commit:
            not_run(f"{env}={self.dir}: neither a checkout holding {path_probe} nor a git directory with {ref}")
        self.ref = commit.strip()
        if self._git("cat-file", "-t", f"{self.ref}:{path_probe}", check=False).strip() != "blob":
            not_run(f"{env}={self.dir}: {path_probe} not in {ref}")
        self.desc = f"{ref} = {self.ref[:10]} ({self._git('log', '-1', '--format=%cs %s', self.ref).strip()[:60]})"

    def _git(self, *args, check=True):
        r = subprocess.run(["git", "--git-dir", self.dir, *args], capture_output=True)
        if check and r.returncode != 0:
            not_run(f"git --git-dir {self.dir} {' '.join(args)}: {r.stderr.decode().strip()}")
        return r.stdout.decode() if r.returncode == 0 else ""

    def read(self, path):
        if self.checkout:
            with open(os.path.join(self.dir, path), "rb") as f:
                return f.read()
        r = subprocess.run(["git", "--git-dir", self.dir, "show", f"{self.ref}:{path}"], capture_output=True)
        if r.returncode != 0:
            not_run(f"{self.dir}: {path} not in {self.ref[:10]}")
        return r.stdout

    def files(self, folder):
        if self.checkout:
            out = []
            for root, _, names in os.walk(os.path.join(self.dir, folder)):
                out += [os.path.relpath(os.path.join(root, n), self.dir) for n in names if n.endswith(".py")]
            return out
        names = self._git("ls-tree", "-r", "--name-only", self.ref, "--", folder).split("\n")
        return [n for n in names if n.endswith(".py")]


sd_scripts = Source("SD_SCRIPTS_DIR", "library/original_unet.py")
lycoris_src = Source("LYCORIS_DIR", "lycoris/__init__.py", default_ref=LYCORIS_PINNED)
prodigy_src = Source("PRODIGY_DIR", "prodigyopt/prodigy.py")

tmp = tempfile.TemporaryDirectory(prefix="lyco-bench-train-py-")


def put(rel, data):
    path = os.path.join(tmp.name, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


for rel in ("library/original_unet.py", "library/custom_train_functions.py"):
    put(rel, sd_scripts.read(rel))
put("library/__init__.py", "")
put("library/utils.py", "def setup_logging(*args, **kwargs):\n    pass\n")
for rel in lycoris_src.files("lycoris"):
    put(rel, lycoris_src.read(rel))
for rel in prodigy_src.files("prodigyopt"):
    put(rel, prodigy_src.read(rel))
train_util_source = sd_scripts.read("library/train_util.py").decode()
sys.path.insert(0, tmp.name)


class _Unavailable:
    """An attribute of a placeholder module: fine to import, annotate with or subclass; raises if called."""

    def __init__(self, name):
        self._name = name

    def __call__(self, *args, **kwargs):
        raise NotImplementedError(f"{self._name}: placeholder (bench/train/sd15_step.py), not installed")

    def __getattr__(self, attr):
        return _Unavailable(f"{self._name}.{attr}")

    def __mro_entries__(self, bases):
        return (type(self._name.rsplit(".", 1)[-1], (), {"__init__": lambda s, *a, **k: self()}),)


class _PlaceholderModule(types.ModuleType):
    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return _Unavailable(f"{self.__name__}.{attr}")


class _Placeholders(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Last on sys.meta_path: answers only for PLACEHOLDER_MODULES the real finders did not find."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in PLACEHOLDER_MODULES:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        return _PlaceholderModule(spec.name)

    def exec_module(self, module):
        module.__path__ = []


sys.meta_path.append(_Placeholders())

import torch  # noqa: E402

torch.set_num_threads(threads)
if not hasattr(torch.nn.functional, "scaled_dot_product_attention"):
    # torch >= 2.0. LyCORIS 1.8's lycoris/modules/attention.py:65 reads it at import (a table for the
    # HyperDreamBooth hypernetwork, which lycoris.kohya imports but this step never builds); the
    # UNet's SDPA path is off. A placeholder that raises if ever called.
    torch.nn.functional.scaled_dot_product_attention = _Unavailable("torch.nn.functional.scaled_dot_product_attention")
import lycoris.kohya  # noqa: E402
import prodigyopt  # noqa: E402
from library import custom_train_functions  # noqa: E402
from library.original_unet import UNet2DConditionModel  # noqa: E402

# train_util's step functions, compiled out of the file (its module imports are not available).
TRAIN_UTIL_FUNCTIONS = {"get_timesteps", "get_noise_noisy_latents_and_timesteps", "get_huber_threshold_if_needed", "conditional_loss"}
tree = ast.parse(train_util_source)
defs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in TRAIN_UTIL_FUNCTIONS]
if {d.name for d in defs} != TRAIN_UTIL_FUNCTIONS:
    not_run(f"library/train_util.py lacks {sorted(TRAIN_UTIL_FUNCTIONS - {d.name for d in defs})}")
train_util = types.SimpleNamespace()
namespace = {**vars(typing), "torch": torch, "math": math, "custom_train_functions": custom_train_functions}
exec(compile(ast.Module(body=defs, type_ignores=[]), "library/train_util.py", "exec"), namespace)
for name in TRAIN_UTIL_FUNCTIONS:
    setattr(train_util, name, namespace[name])


def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


# ---- models -----------------------------------------------------------------------------------

t0 = time.perf_counter()
torch.manual_seed(0)
random.seed(0)
unet = UNet2DConditionModel(sample_size=64, attention_head_dim=8, cross_attention_dim=768, use_linear_projection=False)
with torch.no_grad():
    for name, p in unet.named_parameters():
        if name.endswith(".bias"):
            p.zero_()
        elif p.ndim == 1:
            p.fill_(1)
        else:
            p.normal_(0, 0.02)
unet.requires_grad_(False)


class DDPM:
    """What sd-scripts uses of diffusers' DDPMScheduler(beta_start=0.00085, beta_end=0.012,
    beta_schedule="scaled_linear", num_train_timesteps=1000): config, alphas_cumprod, add_noise."""

    def __init__(self):
        self.config = Namespace(num_train_timesteps=1000)
        betas = torch.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=torch.float32) ** 2
        self.alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)

    def add_noise(self, x, noise, timesteps):
        a = self.alphas_cumprod.to(x.dtype)[timesteps].flatten()
        sqrt_a, sqrt_1ma = a**0.5, (1 - a) ** 0.5
        while sqrt_a.ndim < x.ndim:
            sqrt_a, sqrt_1ma = sqrt_a.unsqueeze(-1), sqrt_1ma.unsqueeze(-1)
        return sqrt_a * x + sqrt_1ma * noise


noise_scheduler = DDPM()
custom_train_functions.prepare_scheduler_for_custom_training(noise_scheduler, "cpu")

args = Namespace(
    noise_offset=None,
    noise_offset_random_strength=False,
    adaptive_noise_scale=None,
    multires_noise_iterations=P["multires_noise_iterations"],
    multires_noise_discount=P["multires_noise_discount"],
    min_timestep=None,
    max_timestep=None,
    ip_noise_gamma=None,
    ip_noise_gamma_random_strength=False,
    loss_type="l2",
    v_parameterization=False,
    min_snr_gamma=P["min_snr_gamma"],
    scale_weight_norms=P["scale_weight_norms"],
)

text_encoder = torch.nn.Module()  # no text encoder modules: the network is the UNet's alone
net_kwargs = dict(a.split("=", 1) for a in P["network_args"])
if "dropout" not in net_kwargs:
    net_kwargs["dropout"] = P["network_dropout"]
try:
    network = lycoris.kohya.create_network(
        1.0,
        P["network_dim"],
        P["network_alpha"],
        None,
        text_encoder,
        unet,
        neuron_dropout=P["network_dropout"],
        **net_kwargs,
    )
except KeyError as e:
    # LyCORIS 3 (HEAD): lycoris/wrapper.py's network_module_dict has no "ia3", so
    # lycoris.kohya.create_network(algo=ia3) fails with KeyError: 'ia3'.
    not_run(f"LyCORIS {lycoris_src.desc}: lycoris.kohya has no algo {e} (create_network raised KeyError {e})")
if args.scale_weight_norms and not hasattr(network, "apply_max_norm_regularization"):
    args.scale_weight_norms = False
network.apply_to(text_encoder, unet, False, True)
if P["gradient_checkpointing"]:
    unet.enable_gradient_checkpointing()
    network.enable_gradient_checkpointing()
try:
    results = network.prepare_optimizer_params(P["text_encoder_lr"], P["unet_lr"], P["learning_rate"])
except TypeError:
    results = network.prepare_optimizer_params(P["text_encoder_lr"], P["unet_lr"])
trainable_params = results[0] if isinstance(results, tuple) else results
trainable_params = [{**g, "params": list(g["params"])} for g in trainable_params]
optimizer_kwargs = {k: ast.literal_eval(v) for k, v in (a.split("=") for a in P["optimizer_args"])}
optimizer = prodigyopt.Prodigy(trainable_params, lr=P["learning_rate"], **optimizer_kwargs)
lr_scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, **P["lr_scheduler_args"])
if P["gradient_checkpointing"]:
    unet.train()
else:
    unet.eval()
network.prepare_grad_etc(text_encoder, unet)
network.on_epoch_start(text_encoder, unet)  # network.train()

modules = len(network.unet_loras)
trained_values = sum(p.numel() for g in trainable_params for p in g["params"])
setup_s = time.perf_counter() - t0
rss_after_build = rss_mib()


# ---- the step ---------------------------------------------------------------------------------

g = torch.Generator().manual_seed(2)


def step():
    latents = torch.randn(1, 4, 32, 32, generator=g)
    hidden = torch.randn(1, 77, 768, generator=g)
    noise, noisy_latents, timesteps = train_util.get_noise_noisy_latents_and_timesteps(args, noise_scheduler, latents)
    if P["gradient_checkpointing"]:
        noisy_latents.requires_grad_(True)
        hidden.requires_grad_(True)
    noise_pred = unet(noisy_latents.requires_grad_(True), timesteps, hidden).sample
    target = noise
    huber_c = train_util.get_huber_threshold_if_needed(args, timesteps, noise_scheduler)
    loss = train_util.conditional_loss(noise_pred.float(), target.float(), args.loss_type, "none", huber_c)
    loss = loss.mean(dim=list(range(1, loss.ndim)))
    loss = loss * torch.ones(1)  # batch["loss_weights"]
    if args.min_snr_gamma:
        loss = custom_train_functions.apply_snr_weight(loss, timesteps, noise_scheduler, args.min_snr_gamma, args.v_parameterization)
    loss = loss.mean()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(network.get_trainable_params(), P["max_grad_norm"])
    optimizer.step()
    lr_scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    if args.scale_weight_norms:
        network.apply_max_norm_regularization(args.scale_weight_norms, "cpu")
    return math.isfinite(loss.item())


stamps = [time.perf_counter()]
cpu = [time.process_time()]
loss_finite = True
for _ in range(steps):
    loss_finite = step() and loss_finite
    stamps.append(time.perf_counter())
    cpu.append(time.process_time())
warm = stamps[1:]
warm_cpu = cpu[1:]
per_step = (warm[-1] - warm[0]) / (len(warm) - 1) if len(warm) > 1 else None
cpu_per_step = (warm_cpu[-1] - warm_cpu[0]) / (len(warm_cpu) - 1) if len(warm_cpu) > 1 else None
print(
    json.dumps(
        {
            "side": "python",
            "preset": preset_name,
            "steps": steps,
            "secondsPerStep": None if per_step is None else round(per_step, 3),
            "cpuSecondsPerStep": None if cpu_per_step is None else round(cpu_per_step, 3),
            "firstStepSeconds": round(stamps[1] - stamps[0], 3) if steps else None,
            "setupSeconds": round(setup_s, 1),
            "modules": modules,
            "trainedValues": trained_values,
            "lossFinite": loss_finite,
            "peakRssMiB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "rssAfterBuildMiB": round(rss_after_build),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "lycoris": lycoris_src.desc,
            "prodigy": prodigy_src.desc,
            "sdScripts": sd_scripts.desc,
        }
    )
)
