// `lyco inspect --json`, `lyco merge` and `lyco extract` end to end through bin/lyco.mjs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { saveAdapterFile } from '../../src/adapters/file.ts';
import { AdapterNetwork } from '../../src/adapters/network.ts';
import * as torch from '../../src/torch/index.ts';
import { safetensors } from '../../src/torch/index.ts';
import { TinyCLIP, TinyUNet } from './tiny-models.ts';

const dir = mkdtempSync(join(tmpdir(), 'lyco-cli-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const lyco = (...args: string[]) => spawnSync(process.execPath, ['bin/lyco.mjs', ...args], { encoding: 'utf8' });

test('lyco inspect --json, merge and extract', () => {
  torch.manualSeed(5);
  const unet = new TinyUNet();
  const te = new TinyCLIP();
  const net = new AdapterNetwork(
    { networkModule: 'lycoris.kohya', algo: 'loha', networkDim: 2, networkAlpha: 1, convDim: 2 },
    { unet, textEncoders: [te] },
    () => {},
  );
  torch.noGrad(() => {
    for (const p of net.parameters()) p.copy_(torch.randn(p.shape).mul(0.3));
  });
  const adapter = join(dir, 'loha.safetensors');
  saveAdapterFile(adapter, net, { dtype: 'float32' });
  const r = lyco('inspect', adapter, '--json');
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  assert.equal(info.algorithm, 'loha');
  assert.equal(info.modules, net.adapters.length);

  const base = join(dir, 'base.safetensors');
  safetensors.save(base, new Map([...unet.stateDict()].map(([k, t]) => [`model.diffusion_model.${k}`, t])));
  const out = join(dir, 'merged.safetensors');
  const m = lyco('merge', base, adapter, '-o', out, '--allow-unmatched');
  assert.equal(m.status, 0, m.stderr);
  assert.match(m.stderr, /text_model/); // the TE modules have no weight in a U-Net-only file: named
  const merged = safetensors.load(out);
  const a = net.adapters.find((x) => x.loraName === 'lora_unet_down_blocks_0_resnets_0_conv1')!;
  assert.ok(merged.get('model.diffusion_model.down_blocks.0.resnets.0.conv1.weight')!.sub(a.mergedWeight(1)).abs().max().item() < 1e-5);
  merged.dispose();
  assert.notEqual(lyco('merge', base, adapter, '-o', join(dir, 'x.safetensors')).status, 0); // unmatched without the flag

  const ex = join(dir, 'extracted.safetensors');
  const e = lyco('extract', base, out, '-o', ex, '--dim', '8', '--conv-dim', '8');
  assert.equal(e.status, 0, e.stderr);
  const info2 = JSON.parse(lyco('inspect', ex, '--json').stdout);
  assert.equal(info2.algorithm, 'locon');
  assert.equal(info2.modules, net.adapters.filter((x) => x.loraName.startsWith('lora_unet')).length);
});
