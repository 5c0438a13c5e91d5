// `lyco inspect MODEL` on full-size checkpoints that hold no data (sparse files made from the
// golden key lists): family, components and parameter counts equal golden param_counts.json,
// for single files (SD1.5, SD2, SDXL) and a diffusers folder; adapters still inspect as adapters.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { inspectModel, isBaseModel } from '../../src/models/inspect.ts';
import { goldenDir } from '../helpers/golden.ts';
import { writeSparseCheckpoint, writeSparseDiffusers } from './sparse-checkpoint.ts';

const dir = mkdtempSync(join(tmpdir(), 'lyco-inspect-model-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const lyco = (...args: string[]) => spawnSync(process.execPath, ['bin/lyco.mjs', ...args], { encoding: 'utf8' });

const FAMILY = { sd15: 'sd1', sd2: 'sd2', sdxl: 'sdxl' } as const;

function counts(golden: string): Record<string, Record<string, number>> {
  return JSON.parse(readFileSync(join(golden, 'models', 'conversion', 'param_counts.json'), 'utf8')).counts;
}

for (const model of ['sd15', 'sd2', 'sdxl'] as const) {
  test(`inspect single-file ${model}: family and per-component counts equal param_counts.json`, (t) => {
    const golden = goldenDir(t);
    if (!golden) return;
    const path = join(dir, `${model}.safetensors`);
    writeSparseCheckpoint(golden, model, path);
    assert.equal(isBaseModel(path), true);
    const r = inspectModel(path);
    assert.equal(r.family, FAMILY[model]);
    assert.equal(r.format, 'single-file');
    const got = Object.fromEntries(r.components.map((c) => [c.name, c.parameters]));
    assert.deepEqual(got, counts(golden)[model]);
    for (const c of r.components) {
      assert.deepEqual([c.missing, c.unexpected, c.mismatched], [[], [], []], c.name);
      assert.equal(c.inFile, c.parameters, `${c.name}: every parameter is in the file`);
    }
  });
}

test('lyco inspect on an SDXL diffusers folder and an SD1.5 single file (text and --json)', (t) => {
  const golden = goldenDir(t);
  if (!golden) return;
  const folder = join(dir, 'sdxl-diffusers');
  writeSparseDiffusers(golden, 'sdxl', folder);
  const json = lyco('inspect', folder, '--json');
  assert.equal(json.status, 0, json.stderr);
  const r = JSON.parse(json.stdout);
  assert.deepEqual([r.kind, r.format, r.family], ['model', 'diffusers', 'sdxl']);
  assert.deepEqual(
    Object.fromEntries(r.components.map((c: { name: string; parameters: number }) => [c.name, c.parameters])),
    counts(golden).sdxl,
  );
  const file = join(dir, 'sd15.safetensors');
  writeSparseCheckpoint(golden, 'sd15', file);
  const text = lyco('inspect', file);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^family +SD1$/m);
  assert.match(text.stdout, /^unet +859,520,964 parameters +UNet2DConditionModel/m);
  assert.match(text.stdout, /^text_encoder +123,060,480 parameters +CLIPTextModel/m);
  assert.match(text.stdout, /^vae +83,653,863 parameters +AutoencoderKL/m);
});
