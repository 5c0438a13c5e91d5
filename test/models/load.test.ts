// Loading base models: a diffusers folder (fp32 and fp16 kept as fp16), LDM transforms on real
// tensors, and one-line refusals for pickle, truncated and unknown files.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { applyTransform } from '../../src/models/convert/index.ts';
import { loadModel } from '../../src/models/load.ts';
import * as torch from '../../src/torch/index.ts';
import { goldenDir } from '../helpers/golden.ts';
import { assertClose } from './compare.ts';

function oneLine(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: Error) => {
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    return true;
  });
}

function diffusersFolder(unetDir: string, vaeDir: string, fp16: boolean): string {
  const root = mkdtempSync(join(tmpdir(), 'lyco-model-'));
  for (const [name, src] of [
    ['unet', unetDir],
    ['vae', vaeDir],
  ]) {
    mkdirSync(join(root, name));
    copyFileSync(join(src, 'config.json'), join(root, name, 'config.json'));
    const target = join(root, name, fp16 ? 'diffusion_pytorch_model.fp16.safetensors' : 'diffusion_pytorch_model.safetensors');
    if (!fp16) copyFileSync(join(src, 'weights.safetensors'), target);
    else
      torch.scope(() => {
        const w = torch.safetensors.load(join(src, 'weights.safetensors'));
        torch.safetensors.save(target, new Map([...w].map(([k, t]) => [k, t.half()])));
      });
  }
  return root;
}

test('diffusers folder: loads UNet and VAE strictly; fp16 weights stay fp16', (t) => {
  const unetDir = goldenDir(t, 'models/unet/sd15_tiny');
  const vaeDir = goldenDir(t, 'models/vae/vae_tiny');
  if (!unetDir || !vaeDir) return;
  for (const fp16 of [false, true]) {
    const root = diffusersFolder(unetDir, vaeDir, fp16);
    try {
      const m = loadModel(root);
      assert.ok(m.unet && m.vae);
      const dtypes = new Set([...m.unet.namedParameters()].map(([, p]) => p.dtype));
      assert.deepEqual([...dtypes], [fp16 ? 'float16' : 'float32']);
      if (!fp16) {
        const io = torch.safetensors.load(join(unetDir, 'io.safetensors'));
        torch.noGrad(() =>
          torch.scope(() => {
            const out = m.unet!.forward(io.get('in.sample')!, io.get('in.timesteps')!, io.get('in.encoder_hidden_states')!);
            assertClose(out, io.get('out.sample')!, 'out.sample', 1e-4, 1e-6);
          }),
        );
      }
      // Asked-for dtype wins over the file's.
      const m32 = loadModel(root, { dtype: 'float32', components: ['unet'] });
      assert.equal([...m32.unet!.namedParameters()][0][1].dtype, 'float32');
      assert.equal(m32.vae, undefined);
      for (const x of [m, m32]) {
        x.unet?.dispose();
        x.vae?.dispose();
        x.release();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
});

test('LDM transforms: 1x1 conv squeeze, q/k/v row split, transpose', () => {
  torch.scope(() => {
    const w = torch.arange(0, 12).reshape(6, 2);
    assert.deepEqual(applyTransform(w, { kind: 'rows', start: 2, end: 4 }).toArray(), [4, 5, 6, 7]);
    assert.deepEqual(applyTransform(w, { kind: 'transpose' }).shape, [2, 6]);
    assert.deepEqual(applyTransform(torch.ones([3, 3, 1, 1]), { kind: 'squeeze1x1' }).shape, [3, 3]);
    assert.deepEqual(applyTransform(torch.ones([3]), { kind: 'squeeze1x1' }).shape, [3]);
  });
});

test('bad inputs: pickle, truncated, unknown model, missing, other extension → one line naming the file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lyco-bad-'));
  try {
    const ckpt = join(dir, 'model.ckpt');
    writeFileSync(ckpt, 'PK\x03\x04 not really');
    oneLine(() => loadModel(ckpt), /model\.ckpt: pickle checkpoints \(\.ckpt\) are not loaded .*convert it to \.safetensors/);

    oneLine(() => loadModel(join(dir, 'nope.safetensors')), /nope\.safetensors: no such file/);
    const txt = join(dir, 'model.gguf');
    writeFileSync(txt, 'x');
    oneLine(() => loadModel(txt), /model\.gguf: not a \.safetensors file/);

    const unetDir = goldenDir(t, 'models/unet/sd15_tiny');
    if (!unetDir) return;
    const bytes = readFileSync(join(unetDir, 'weights.safetensors'));
    const cut = join(dir, 'truncated.safetensors');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    oneLine(() => loadModel(cut), /truncated\.safetensors: .*(truncated|past the end|beyond)/i);

    // A diffusers-named UNet file is not an SD single-file checkpoint.
    const other = join(dir, 'other.safetensors');
    copyFileSync(join(unetDir, 'weights.safetensors'), other);
    oneLine(() => loadModel(other), /other\.safetensors: not a Stable Diffusion 1\.x\/2\.x\/XL single-file checkpoint/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
