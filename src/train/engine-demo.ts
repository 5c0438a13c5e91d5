// The engine demo (`lyco demo` until the adapter demo of the bundled model lands): a tiny
// convolutional noise predictor trained with Prodigy on the diffusion objective, on procedurally
// drawn coloured squares. It exercises what adapter training stands on: conv/group-norm/SiLU
// forward and backward, seeded noise, Prodigy's d adaptation, scopes, and an atomic safetensors save.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { Prodigy } from '../optim/index.ts';
import * as torch from '../torch/index.ts';
import { safetensors, type Tensor } from '../torch/index.ts';

const { F } = torch;

export interface DemoResult {
  firstLoss: number;
  lastLoss: number;
  dLr: number;
  weights: string;
  seconds: number;
}

/** Batch of 3x16x16 images in [-1, 1]: a square of one colour on a background of another. */
function drawBatch(n: number, g: InstanceType<typeof torch.Generator>): Tensor {
  return torch.scope(() => {
    const bg = torch.rand([n, 3, 1, 1], { generator: g }).mul(2).sub(1);
    const fg = torch.rand([n, 3, 1, 1], { generator: g }).mul(2).sub(1);
    const img = bg.expand(n, 3, 16, 16).contiguous();
    const pos = torch.randint(0, 8, [n, 2], { generator: g }).toArray();
    for (let i = 0; i < n; i++) {
      const [y, x] = [pos[2 * i], pos[2 * i + 1]];
      img.index(i, null, [y, y + 8], [x, x + 8]).copy_(fg.index(i).expand(3, 8, 8));
    }
    return img;
  });
}

export function runEngineDemo(opts: { steps?: number; outDir?: string; seed?: number; quiet?: boolean } = {}): DemoResult {
  const steps = opts.steps ?? 300;
  const outDir = opts.outDir ?? 'out/demo';
  torch.manualSeed(opts.seed ?? 31337);
  const g = new torch.Generator({ seed: opts.seed ?? 31337 });
  const t0 = performance.now();

  // DDPM scaled_linear schedule (0.00085..0.012, 1000 steps), as Stable Diffusion trains with.
  const alphasCumprod = torch
    .scope(() =>
      torch
        .linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, { dtype: 'float64' })
        .square()
        .neg()
        .add(1)
        .cumprod(0)
        .to('float32'),
    )
    .keep();

  const param = (shape: number[], scale: number) => torch.randn(shape, { generator: g }).mul_(scale).requiresGrad_().keep();
  const p = {
    'conv_in.weight': param([32, 4, 3, 3], 0.15),
    'conv_in.bias': torch.zeros([32], { requiresGrad: true }).keep(),
    'norm1.weight': torch.ones([32], { requiresGrad: true }).keep(),
    'norm1.bias': torch.zeros([32], { requiresGrad: true }).keep(),
    'conv_mid.weight': param([32, 32, 3, 3], 0.05),
    'conv_mid.bias': torch.zeros([32], { requiresGrad: true }).keep(),
    'norm2.weight': torch.ones([32], { requiresGrad: true }).keep(),
    'norm2.bias': torch.zeros([32], { requiresGrad: true }).keep(),
    'conv_out.weight': param([3, 32, 3, 3], 0.05),
    'conv_out.bias': torch.zeros([3], { requiresGrad: true }).keep(),
  };
  const forward = (x: Tensor, tFrac: Tensor): Tensor => {
    const tChan = tFrac.view(-1, 1, 1, 1).expand(x.shape[0], 1, 16, 16);
    let h = F.conv2d(torch.cat([x, tChan], 1), p['conv_in.weight'], p['conv_in.bias'], { padding: 1 });
    h = F.silu(F.groupNorm(h, 8, p['norm1.weight'], p['norm1.bias']));
    h = h.add(F.conv2d(h, p['conv_mid.weight'], p['conv_mid.bias'], { padding: 1 }));
    h = F.silu(F.groupNorm(h, 8, p['norm2.weight'], p['norm2.bias']));
    return F.conv2d(h, p['conv_out.weight'], p['conv_out.bias'], { padding: 1 });
  };

  const opt = new Prodigy(Object.values(p), { lr: 1.0, weightDecay: 0.01, useBiasCorrection: true, safeguardWarmup: true });
  const bar = opts.quiet
    ? undefined
    : new cliProgress.SingleBar(
        { format: 'demo |{bar}| {value}/{total} steps | loss {loss} | d*lr {dlr} | {duration}s', noTTYOutput: true, notTTYSchedule: 2000 },
        cliProgress.Presets.shades_classic,
      );
  bar?.start(steps, 0, { loss: '-', dlr: '-' });
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const loss = torch.scope(() => {
      const x0 = drawBatch(16, g);
      const noise = torch.randn(x0.shape, { generator: g });
      const t = torch.randint(0, 1000, [16], { generator: g });
      const a = alphasCumprod.index(t).view(-1, 1, 1, 1);
      const xt = x0.mul(a.sqrt()).add(noise.mul(a.neg().add(1).sqrt()));
      const l = F.mseLoss(forward(xt, t.to('float32').div(1000)), noise);
      l.backward();
      opt.step();
      opt.zeroGrad();
      return l.item();
    });
    losses.push(loss);
    bar?.update(step + 1, { loss: loss.toFixed(4), dlr: (opt.logs().dLr?.[0] ?? 0).toExponential(2) });
  }
  bar?.stop();

  mkdirSync(outDir, { recursive: true });
  const weights = join(outDir, 'engine-demo.safetensors');
  torch.scope(() => {
    const detached = Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v.detach()]));
    safetensors.save(weights, detached, { 'lyco.demo': 'engine', 'lyco.steps': String(steps) });
  });
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const result = {
    firstLoss: mean(losses.slice(0, 20)),
    lastLoss: mean(losses.slice(-20)),
    dLr: opt.logs().dLr?.[0] ?? 0,
    weights,
    seconds: (performance.now() - t0) / 1000,
  };
  for (const v of Object.values(p)) v.dispose();
  alphasCumprod.dispose();
  return result;
}
