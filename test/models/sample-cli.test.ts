// `lyco sample` end to end through bin/lyco.mjs on the tiny diffusers model: a PNG of the asked
// size, the seed printed, and one-line errors (exit code 1) for bad sizes and missing tokenizers.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { tinyDiffusersModel, tinyLora } from './tiny-pipeline.ts';

const model = tinyDiffusersModel('sd1', { tokenizer: false });
const scratch = mkdtempSync(join(tmpdir(), 'lyco-sample-cli-'));
after(() => {
  for (const d of [model, scratch]) rmSync(d, { recursive: true, force: true });
});
// No tokenizer anywhere a user's machine keeps one: HOME and the HF cache point at scratch.
const env = { ...process.env, HOME: scratch, HF_HOME: scratch, HF_HUB_CACHE: join(scratch, 'hub') };
const lyco = (...args: string[]) => spawnSync(process.execPath, ['bin/lyco.mjs', 'sample', ...args], { encoding: 'utf8', env });

test('lyco sample writes the PNG; errors are one line', async () => {
  const withTok = tinyDiffusersModel('sd1', { seed: 0 });
  const out = join(scratch, 'x.png');
  try {
    // The tokenizer of the full tiny model serves the one without (same vocabulary).
    const lora = join(scratch, 'lora.safetensors');
    tinyLora(lora, { lora_te_text_model_encoder_layers_0_self_attn_q_proj: [32, 32] });
    const common = ['--model', model, '--prompt', 'a cat', '--steps', '2', '--width', '64', '--height', '32'];
    const r = lyco(
      ...common,
      '--tokenizer',
      join(withTok, 'tokenizer'),
      '--seed',
      '3',
      '--network',
      lora,
      '--multiplier',
      '0.5',
      '--out',
      out,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /CLIP tokenizer from --tokenizer/);
    assert.match(r.stdout, /1 modules merged × 0.5/);
    assert.match(r.stdout, /64x32, sd1, euler_a 2 steps, cfg 7.5, seed 3/);
    const meta = await sharp(out).metadata();
    assert.deepEqual([meta.width, meta.height], [64, 32]);

    const bad = lyco(...common, '--width', '60', '--out', join(scratch, 'bad.png'));
    assert.equal(bad.status, 1);
    assert.equal(bad.stderr, "lyco: --width 60: must be a multiple of 8 (the VAE's scale factor)\n");

    const noTok = lyco(...common, '--out', join(scratch, 'none.png'));
    assert.equal(noTok.status, 1);
    assert.match(noTok.stderr, /^lyco: no CLIP tokenizer found .*pass --tokenizer DIR/);
    assert.equal(noTok.stderr.trim().split('\n').length, 1, noTok.stderr);
    assert.ok(!existsSync(join(scratch, 'none.png')));

    const notModel = lyco('--model', scratch, '--prompt', 'x', '--out', join(scratch, 'n.png'));
    assert.equal(notModel.status, 1);
    assert.match(notModel.stderr, /not a diffusers model folder/);
    assert.equal(notModel.stderr.trim().split('\n').length, 1, notModel.stderr);
  } finally {
    rmSync(withTok, { recursive: true, force: true });
  }
});
