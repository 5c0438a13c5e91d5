// One optimizer step of a guide preset on a full-size SD1.5-layout UNet at 32x32 latents, batch 1:
// the preset's network over the UNet only (text encoder outputs are random [1, 77, 768] states, so
// the figure is the UNet's step), its optimizer, scheduler, noise and loss, through the same
// denoiseStep / optimizerStep the trainer runs. Weights are random: built with withoutInit, then
// filled (conv/linear ~ N(0, 0.02), norms 1, biases 0) and frozen; in fp16 (held as lyco holds an
// fp16 checkpoint: computed in float32, nn/frozen.ts) or float32. Prints one JSON line.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdapterNetwork } from '../../src/adapters/network.ts';
import { findPreset, loadConfig } from '../../src/config/index.ts';
import { PyRandom } from '../../src/data/py-random.ts';
import { NoiseSchedule } from '../../src/diffusion/index.ts';
import { generatorSource } from '../../src/diffusion/noise.ts';
import { unetConfig } from '../../src/models/convert/index.ts';
import { UNet2DConditionModel } from '../../src/models/index.ts';
import { storeFrozenWeights } from '../../src/nn/index.ts';
import { withoutInit } from '../../src/nn/init.ts';
import * as torch from '../../src/torch/index.ts';
import { networkConfigFromTrain } from '../../src/train/network-config.ts';
import { buildOptimizer, buildScheduler } from '../../src/train/optimizer-config.ts';
import { denoiseStep, optimizerStep } from '../../src/train/step.ts';

function randomUnet(weights: 'fp16' | 'fp32'): UNet2DConditionModel {
  torch.manualSeed(0);
  const unet = withoutInit(() => new UNet2DConditionModel(unetConfig('sd1')), { dtype: weights === 'fp16' ? 'float16' : 'float32' });
  torch.noGrad(() => {
    for (const [name, p] of unet.namedParameters()) {
      torch.scope(() => {
        if (name.endsWith('.bias')) p.zero_();
        else if (p.ndim === 1) p.fill_(1);
        else p.copy_(torch.randn(p.shape).mul(0.02));
      });
    }
  });
  unet.requiresGrad_(false).eval();
  if (weights === 'fp16') storeFrozenWeights(unet, 'float16');
  return unet;
}

export interface Sd15Figure {
  preset: string;
  weights: 'fp16' | 'fp32';
  steps: number;
  secondsPerStep: number;
  setupSeconds: number;
  modules: number;
  trainedValues: number;
  lossFinite: boolean;
  peakRssMiB: number;
  threads: number;
}

export function benchSd15Unet(preset: 'ia3' | 'lokr', steps: number, weights: 'fp16' | 'fp32' = 'fp16'): Sd15Figure {
  const t0 = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'lyco-bench-'));
  let cfg: ReturnType<typeof loadConfig>['config'];
  try {
    const file = join(dir, `${preset}.json`);
    writeFileSync(file, findPreset(preset)?.text as string);
    // The preset as written, trained on the UNet alone (no text encoder to train through).
    cfg = loadConfig(file, { argv: ['--network_train_unet_only', '--max_train_steps', String(steps)] }).config;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const unet = randomUnet(weights);
  unet.gradientCheckpointing = cfg.gradient_checkpointing;
  const schedule = new NoiseSchedule({ predictionType: 'epsilon' });
  const network = new AdapterNetwork(networkConfigFromTrain(cfg, false), { unet }, () => {}).apply();
  network.train();
  const groups = network.paramGroups({ unetLr: cfg.unet_lr ?? cfg.learning_rate });
  const params = groups.flatMap((g) => g.params);
  for (const p of params) p.requiresGrad = true;
  const { optimizer } = buildOptimizer(cfg, groups);
  const scheduler = buildScheduler(cfg, optimizer);
  const ctx = {
    cfg,
    models: { unet, schedule },
    noise: generatorSource({ generator: new torch.Generator({ seed: 1 }), py: new PyRandom(1) }),
  };
  const g = new torch.Generator({ seed: 2 });
  const setupSeconds = (performance.now() - t0) / 1000;
  const stamps: number[] = [performance.now()];
  let lossFinite = true;
  for (let i = 0; i < steps; i++) {
    torch.scope(() => {
      const latents = torch.randn([1, 4, 32, 32], { generator: g });
      const hidden = torch.randn([1, 77, 768], { generator: g });
      const loss = denoiseStep(ctx, latents, { hidden }, [1]);
      lossFinite &&= Number.isFinite(loss);
      optimizerStep(cfg, network, params, optimizer, scheduler);
    });
    stamps.push(performance.now());
  }
  // The first step pays for lazy allocations (optimizer state, autograd buffers): left out.
  const warm = stamps.slice(1);
  const secondsPerStep = (warm[warm.length - 1] - warm[0]) / (warm.length - 1) / 1000;
  const figure: Sd15Figure = {
    preset,
    weights,
    steps,
    secondsPerStep: Number(secondsPerStep.toFixed(3)),
    setupSeconds: Number(setupSeconds.toFixed(1)),
    modules: network.adapters.length,
    trainedValues: network.trainedValues(),
    lossFinite,
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    threads: torch.getNumThreads(),
  };
  optimizer.dispose();
  network.restore();
  network.dispose();
  unet.dispose();
  return figure;
}
