// Single-file key conversion against the golden LDM ⇄ diffusers tables (names and shapes only:
// no tensors are allocated, SDXL has 2.6 G parameters).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  type Component,
  detectFamily,
  planConversion,
  type Transform,
  transformedShape,
  unetConfig,
  vaeConfig,
} from '../../src/models/convert/index.ts';
import { goldenDir } from '../helpers/golden.ts';

type Row = [string, string, number[], number[], string];

function transformName(t: Transform, ldmShape: number[]): string {
  switch (t.kind) {
    case 'same':
      return '';
    case 'squeeze1x1':
      return ldmShape.length === 4 ? '[:, :, 0, 0]' : '';
    case 'transpose':
      return '.T';
    case 'rows': {
      const a = t.start === 0 ? '' : String(t.start);
      const b = t.end === ldmShape[0] ? '' : String(t.end);
      return ldmShape.length === 1 ? `[${a}:${b}]` : `[${a}:${b}, :]`;
    }
  }
}

const FAMILY = { sd15: 'sd1', sd2: 'sd2', sdxl: 'sdxl' } as const;

for (const name of ['sd15', 'sd2', 'sdxl'] as const) {
  test(`conversion ${name}: every LDM key maps to the listed diffusers key, transform and shape`, (t) => {
    const dir = goldenDir(t, 'models/conversion');
    if (!dir) return;
    const golden = JSON.parse(readFileSync(join(dir, `${name}_keys.json`), 'utf8'));
    const shapes = new Map<string, number[]>();
    const expected = new Map<string, string>();
    const dropped = new Set<string>();
    for (const [component, c] of Object.entries<{ rows: Row[]; ldm_keys_not_converted?: string[] }>(golden.components)) {
      for (const [ldm, diff, dShape, lShape, tr] of c.rows) {
        shapes.set(ldm, lShape);
        expected.set(`${component}/${diff}`, JSON.stringify([ldm, tr, dShape]));
      }
      for (const k of c.ldm_keys_not_converted ?? []) {
        shapes.set(k, [1]);
        dropped.add(k);
      }
    }
    // Non-weight entries real files carry.
    shapes.set('alphas_cumprod', [1000]);
    shapes.set('model_ema.decay', []);
    assert.equal(detectFamily(shapes, 'x.safetensors'), FAMILY[name]);
    const plan = planConversion(shapes, 'x.safetensors');
    const got = new Map<string, string>();
    for (const m of plan.mappings) {
      const key = `${m.component}/${m.diffusersKey}`;
      assert.ok(!got.has(key), `${key} produced twice`);
      const lShape = shapes.get(m.ldmKey)!;
      got.set(key, JSON.stringify([m.ldmKey, transformName(m.transform, lShape), transformedShape(lShape, m.transform)]));
    }
    const missing = [...expected.keys()].filter((k) => !got.has(k));
    const extra = [...got.keys()].filter((k) => !expected.has(k));
    assert.deepEqual(missing, [], 'diffusers keys not produced');
    assert.deepEqual(extra, [], 'keys produced that the table does not list');
    for (const [k, v] of expected) assert.equal(got.get(k), v, k);
    assert.deepEqual(plan.unused.sort(), [...dropped, 'alphas_cumprod', 'model_ema.decay'].sort(), 'keys left over');
    const perComponent = Object.fromEntries(
      Object.keys(golden.components).map((c) => [c, plan.mappings.filter((m) => m.component === (c as Component)).length]),
    );
    t.diagnostic(
      `${name}: ${plan.mappings.length} diffusers tensors from ${shapes.size} LDM keys ${JSON.stringify(perComponent)}; unused ${plan.unused.length}`,
    );
  });

  test(`conversion ${name}: built-in configs equal the table's diffusers configs`, (t) => {
    const dir = goldenDir(t, 'models/conversion');
    if (!dir) return;
    const golden = JSON.parse(readFileSync(join(dir, `${name}_keys.json`), 'utf8'));
    for (const [component, mine] of [
      ['unet', unetConfig(FAMILY[name])],
      ['vae', vaeConfig(FAMILY[name])],
    ] as const) {
      const ref = golden.components[component].config;
      for (const [k, v] of Object.entries(mine)) assert.deepEqual(v, ref[k], `${component}.${k}`);
    }
  });
}

test('detectFamily: a file of another model is refused with one line naming it', () => {
  const shapes = new Map([['encoder.layers.0.weight', [4, 4]]]);
  assert.throws(
    () => detectFamily(shapes, '/m/flux.safetensors'),
    (e: Error) => {
      assert.match(e.message, /^\/m\/flux\.safetensors: not a Stable Diffusion 1\.x\/2\.x\/XL single-file checkpoint/);
      assert.ok(!e.message.includes('\n'));
      return true;
    },
  );
});
