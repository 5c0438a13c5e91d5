// `lyco convert` on a real (tiny) base model: an iA3 adapter trained on the golden sd15_tiny
// U-Net + clip_l_tiny text encoder, saved as a diffusers folder, becomes
//  - a diff file whose W + diff equals the iA3 merged weight (float rounding only), and
//  - an extracted LoRA whose error ‖ΔW − up·down‖/‖ΔW‖ is the one reported, and ~0 at full rank;
// both applied through the loaders' file semantics (merge) as ComfyUI applies "diff" / "lora".
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openBaseWeights } from '../../src/adapters/base-weights.ts';
import { convertAdapter } from '../../src/adapters/convert.ts';
import { readAdapterFile, saveAdapterFile, writeChecked } from '../../src/adapters/file.ts';
import { inspectAdapter } from '../../src/adapters/inspect.ts';
import { mergeAdapter } from '../../src/adapters/merge.ts';
import { AdapterNetwork } from '../../src/adapters/network.ts';
import { buildTextEncoder, loadTextEncoderWeights, parseClipTextConfig } from '../../src/models/clip/index.ts';
import { loadModel } from '../../src/models/load.ts';
import type { Tensor } from '../../src/torch/index.ts';
import * as torch from '../../src/torch/index.ts';
import { goldenDir } from '../helpers/golden.ts';

const dir = mkdtempSync(join(tmpdir(), 'lyco-convert-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const lyco = (...args: string[]) => spawnSync(process.execPath, ['bin/lyco.mjs', ...args], { encoding: 'utf8' });

/** A diffusers folder of the golden tiny SD1.5 U-Net and CLIP-L text encoder, an iA3 adapter on it with random scales. */
function setup(golden: string) {
  const base = join(dir, 'tiny-sd15');
  for (const [c, src, file] of [
    ['unet', 'unet/sd15_tiny', 'diffusion_pytorch_model.safetensors'],
    ['text_encoder', 'text_encoders/clip_l_tiny', 'model.safetensors'],
  ]) {
    mkdirSync(join(base, c), { recursive: true });
    copyFileSync(join(golden, 'models', src, 'config.json'), join(base, c, 'config.json'));
    copyFileSync(join(golden, 'models', src, 'weights.safetensors'), join(base, c, file));
  }
  const loaded = loadModel(base, { components: ['unet'] });
  const te = loaded.textEncoders.text_encoder!;
  const clip = buildTextEncoder(parseClipTextConfig(te.config), false);
  loadTextEncoderWeights(clip, te.stateDict);
  loaded.release();
  const net = new AdapterNetwork(
    { networkModule: 'lycoris.kohya', algo: 'ia3', networkDim: 8 },
    { unet: loaded.unet!, textEncoders: [clip] },
    () => {},
  );
  torch.manualSeed(3);
  torch.noGrad(() => {
    for (const p of net.parameters()) p.copy_(torch.randn(p.shape).mul(0.2));
  });
  const adapter = join(dir, 'ia3.safetensors');
  saveAdapterFile(adapter, net, { dtype: 'float32', metadata: { ss_network_module: 'lycoris.kohya', ss_network_args: '{"algo": "ia3"}' } });
  // Checkpoint-style names of the live weights, for merging files as loaders do.
  const checkpoint = new Map<string, Tensor>([
    ...[...loaded.unet!.namedParameters()].map(([k, t]) => [`unet.${k}`, t] as [string, Tensor]),
    ...[...clip.namedParameters()].map(([k, t]) => [`text_encoder.${k}`, t] as [string, Tensor]),
  ]);
  return { base, net, adapter, checkpoint };
}

const rel = (a: Tensor, b: Tensor, ref: Tensor) => torch.scope(() => a.sub(b).norm().item() / ref.norm().item());

test('convert iA3 → diff: W + diff equals the iA3 merged weight; applied as a loader applies it', (t) => {
  const golden = goldenDir(t);
  if (!golden) return;
  const { base, net, adapter, checkpoint } = setup(golden);
  assert.equal(net.adapters.length, 11 * 5 + 3 * 3); // to_k/to_v of attn1 and attn2, ff.net.2 in 11 blocks; k/v_proj, fc2 in 3 CLIP layers
  const file = readAdapterFile(adapter);
  const weights = openBaseWeights(base);
  const { tensors, report } = convertAdapter(file, weights, { to: 'diff', dtype: 'float32' });
  assert.deepEqual(report.unmatched, []);
  assert.equal(report.modules.length, net.adapters.length);
  for (const m of report.modules) assert.ok(m.relError < 1e-7, `${m.name}: ${m.relError}`);
  const out = join(dir, 'ia3-diff.safetensors');
  writeChecked(out, tensors, {});
  assert.equal(inspectAdapter(out).algorithm, 'full');
  const diffFile = readAdapterFile(out);
  const viaDiff = mergeAdapter(checkpoint, diffFile).patched;
  const viaIa3 = mergeAdapter(checkpoint, file).patched;
  assert.equal(viaDiff.size, net.adapters.length);
  torch.noGrad(() => {
    for (const a of net.adapters) {
      const stem = [...checkpoint].find(([, w]) => w === a.targetWeight)![0];
      const merged = a.mergedWeight();
      const delta = a.diffWeight();
      assert.ok(rel(viaDiff.get(stem)!, merged, delta) < 1e-6, `${a.loraName}: W + diff vs iA3 merged`);
      assert.ok(rel(viaIa3.get(stem)!, merged, delta) < 1e-6, `${a.loraName}: merge of the iA3 file`);
      merged.dispose();
      delta.dispose();
    }
  });
  for (const m of [viaDiff, viaIa3, tensors]) for (const x of m.values()) x.dispose();
  diffFile.dispose();
  weights.dispose();
  file.dispose();
});

test('convert iA3 → lora: the reported error is ‖ΔW − up·down‖/‖ΔW‖ of what a loader applies; full rank is exact', (t) => {
  const golden = goldenDir(t);
  if (!golden) return;
  const { base, net, adapter, checkpoint } = setup(golden);
  const file = readAdapterFile(adapter);
  const weights = openBaseWeights(base);
  for (const rank of [2, 1024]) {
    const { tensors, report } = convertAdapter(file, weights, { to: 'lora', rank, dtype: 'float32' });
    const out = join(dir, `ia3-lora${rank}.safetensors`);
    writeChecked(out, tensors, {});
    const lora = readAdapterFile(out);
    const applied = mergeAdapter(checkpoint, lora).patched;
    const byName = new Map(report.modules.map((m) => [m.name, m]));
    torch.noGrad(() => {
      for (const a of net.adapters) {
        const m = byName.get(a.loraName)!;
        const w = a.targetWeight;
        assert.equal(m.rank, Math.min(rank, ...a.layer.shape.slice(0, 2)));
        const stem = [...checkpoint].find(([, x]) => x === w)![0];
        const delta = a.diffWeight();
        const err = torch.scope(() => applied.get(stem)!.sub(w).sub(delta).norm().item() / delta.norm().item());
        assert.ok(Math.abs(err - m.relError) < 1e-4, `${a.loraName}: applied error ${err} vs reported ${m.relError}`);
        if (rank >= Math.min(...a.layer.shape.slice(0, 2))) assert.ok(m.relError < 1e-5, `${a.loraName} full rank: ${m.relError}`);
        else assert.ok(m.relError > 1e-3 && m.relError < 1, `${a.loraName} rank ${rank}: ${m.relError}`);
        delta.dispose();
      }
    });
    for (const x of [...applied.values(), ...tensors.values()]) x.dispose();
    lora.dispose();
  }
  weights.dispose();
  file.dispose();
});

test('lyco convert CLI: iA3 needs --base; diff and lora files inspect as full / lora', (t) => {
  const golden = goldenDir(t);
  if (!golden) return;
  const { base, adapter } = setup(golden);
  const noBase = lyco('convert', adapter, '--to', 'diff', '-o', join(dir, 'x.safetensors'));
  assert.notEqual(noBase.status, 0);
  assert.match(noBase.stderr, /iA3.*--base MODEL/);
  const diff = join(dir, 'cli-diff.safetensors');
  const r1 = lyco('convert', adapter, '--to', 'diff', '--base', base, '-o', diff);
  assert.equal(r1.status, 0, r1.stderr);
  assert.match(r1.stdout, /64 modules converted to weight differences/);
  assert.equal(inspectAdapter(diff).algorithm, 'full');
  const lora = join(dir, 'cli-lora.safetensors');
  const r2 = lyco('convert', adapter, '--to', 'lora', '--rank', '4', '--base', base, '-o', lora, '--json');
  assert.equal(r2.status, 0, r2.stderr);
  const rep = JSON.parse(r2.stdout);
  assert.equal(rep.modules.length, 64);
  assert.ok(rep.modules.every((m: { rank: number; relError: number }) => m.rank <= 4 && m.relError >= 0));
  const info = inspectAdapter(lora);
  assert.deepEqual([info.algorithm, info.modules, info.metadata.ss_network_module], ['lora', 64, 'networks.lora']);
  const wrongBase = lyco(
    'convert',
    adapter,
    '--to',
    'diff',
    '--base',
    join(golden, 'models', 'unet', 'sd2_tiny', 'weights.safetensors'),
    '-o',
    join(dir, 'y.safetensors'),
  );
  assert.notEqual(wrongBase.status, 0);
  assert.match(wrongBase.stderr, /match no weight/);
});
