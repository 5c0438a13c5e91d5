// Every algorithm trains over a base whose frozen weights are stored in fp16 and computed in
// float32 (nn/frozen.ts), as lyco holds an fp16 checkpoint: the UNet's output and the adapter's
// gradients equal those over float32 weights holding the same values.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AdapterNetwork, type NetworkConfig } from '../../src/adapters/network.ts';
import { UNet2DConditionModel } from '../../src/models/unet/index.ts';
import { storeFrozenWeights } from '../../src/nn/index.ts';
import type { Tensor } from '../../src/torch/index.ts';
import * as torch from '../../src/torch/index.ts';
import { goldenDir } from '../helpers/golden.ts';
import { assertClose } from '../models/compare.ts';

const CASES: [string, NetworkConfig][] = [
  ['lora', { networkModule: 'networks.lora', algo: 'lora', networkDim: 4, networkAlpha: 2, convDim: 2, convAlpha: 1 }],
  ['locon', { networkModule: 'lycoris.kohya', algo: 'locon', networkDim: 4, networkAlpha: 2, convDim: 2, convAlpha: 1 }],
  ['loha', { networkModule: 'lycoris.kohya', algo: 'loha', networkDim: 4, networkAlpha: 2, convDim: 2, convAlpha: 1 }],
  ['lokr (guide: factor -1, full dim)', { networkModule: 'lycoris.kohya', algo: 'lokr', networkDim: 1024, networkAlpha: 1024, factor: -1 }],
  ['ia3', { networkModule: 'lycoris.kohya', algo: 'ia3', networkDim: 1, networkAlpha: 1 }],
  ['ia3 on input', { networkModule: 'lycoris.kohya', algo: 'ia3', networkDim: 1, trainOnInput: true, ia3TrainOnInputAsWritten: true }],
  ['dylora', { networkModule: 'networks.dylora', algo: 'dylora', networkDim: 4, networkAlpha: 2, blockSize: 2 }],
  ['locon + DoRA', { networkModule: 'lycoris.kohya', algo: 'locon', networkDim: 4, networkAlpha: 2, dora: 'output' }],
];

for (const [name, config] of CASES) {
  test(`${name} over fp16-stored base weights: same output and adapter gradients as float32`, (t) => {
    const dir = goldenDir(t, 'models/unet/sd15_tiny');
    if (!dir) return;
    torch.manualSeed(5);
    const unet = new UNet2DConditionModel(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
    unet.loadStateDict(torch.safetensors.load(join(dir, 'weights.safetensors')), { strict: true });
    unet.requiresGrad_(false);
    torch.noGrad(() => {
      for (const p of unet.parameters()) torch.scope(() => p.copy_(p.half()));
    });
    const net = new AdapterNetwork(config, { unet }, () => {}).apply();
    // Non-zero adapter values, so every path (up/down, Kronecker factors, scales) carries signal.
    torch.noGrad(() => {
      for (const p of net.parameters()) torch.scope(() => p.copy_(torch.randn(p.shape).mul(0.05).add(p)));
    });
    const io = torch.safetensors.load(join(dir, 'io.safetensors'));
    const step = () =>
      torch.scope(() => {
        for (const p of net.parameters()) p.grad = undefined;
        torch.manualSeed(9); // DyLoRA draws its rank block per forward: the same draw both times
        const out = unet.forward(
          io.get('in.sample') as Tensor,
          io.get('in.timesteps') as Tensor,
          io.get('in.encoder_hidden_states') as Tensor,
        );
        out.square().mean().backward();
        return [out.detach(), ...net.parameters().map((p) => p.grad as Tensor)].map((x) => x.keep());
      });
    const ref = step();
    storeFrozenWeights(unet, 'float16');
    const half = step();
    let worst = 0;
    half.forEach((h, i) => {
      assert.ok(h, `gradient ${i} exists`);
      worst = Math.max(worst, assertClose(h, ref[i], `tensor ${i}`, 1e-5).rel);
    });
    t.diagnostic(`${net.adapters.length} modules, ${ref.length - 1} tensors, worst rel ${worst.toExponential(1)}`);
    for (const x of [...ref, ...half]) x.dispose();
    net.restore?.();
    unet.dispose();
  });
}
