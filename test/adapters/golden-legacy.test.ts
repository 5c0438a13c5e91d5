// golden/lycoris legacy_v1_9_0 / legacy_v1_8_3: the same cases replayed through LyCORIS 1.9.0 and
// 1.8.3. Their forwards are lyco's (iA3 in scaleBias mode: 1.x scaled the bias on output) and
// their merges (`utils.rebuild_weight`) are lyco's forward-consistent merge — the merge lyco's
// `lyco merge` does. Known 1.x bugs are pinned: the LoHa+Tucker forward used hada_t1 for both factors (its merge
// did not), and 1.8.3's merge of a full-matrix conv LoKr is wrong.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { factorization } from '../../src/adapters/factorization.ts';
import { lohaDiff } from '../../src/adapters/functional/loha.ts';
import * as torch from '../../src/torch/index.ts';
import { safetensors } from '../../src/torch/index.ts';
import { goldenDir } from '../helpers/golden.ts';
import { assertClose, OUT_TOL, WEIGHT_TOL } from './close.ts';
import { fmt, loadCase } from './golden-case.ts';

interface LegacyJson {
  cases: Record<string, { status: string; algo: string }>;
  factorization: { rows: number[][] };
}

for (const version of ['v1_9_0', 'v1_8_3']) {
  test(`golden lycoris legacy_${version}`, (t) => {
    const dir = goldenDir(t, 'lycoris');
    if (!dir) return;
    const json = JSON.parse(readFileSync(join(dir, `legacy_${version}.json`), 'utf8')) as LegacyJson;
    const file = safetensors.load(join(dir, `legacy_${version}.safetensors`));
    let compared = 0;
    for (const [name, info] of Object.entries(json.cases)) {
      if (info.status !== 'ok' || info.algo === 'dylora') continue; // 1.x DyLoRA ignores the multiplier and draws ranks unrecorded
      torch.scope(() => {
        const c = loadCase(dir, name, { scaleBias: true });
        const x = c.t.get('input.x')!;
        const tuckerT1Twice = name === 'loha_conv3_tucker';
        for (const m of [1, 0.5, -1]) {
          const outKey = `${name}/out.mult_${fmt(m)}`;
          const mergedKey = `${name}/merged.mult_${fmt(m)}`;
          c.mod.multiplier = m;
          const g = (k: string) => c.sd.get(k)!;
          // LoHa+Tucker in 1.x: R2 rebuilt from hada_t1 as well.
          const legacyDelta = () =>
            lohaDiff(
              { w1a: g('hada_w1_a'), w1b: g('hada_w1_b'), w2a: g('hada_w2_a'), w2b: g('hada_w2_b'), t1: g('hada_t1'), t2: g('hada_t1') },
              c.mod.layer.shape,
              0.5,
            );
          const out = file.get(outKey);
          if (out) {
            const mine = tuckerT1Twice
              ? c.t.get('out.base')!.add(torch.F.conv2d(x, legacyDelta().mul(m), undefined, { padding: 1 }))
              : c.mod.forward(x);
            assertClose(mine, out, OUT_TOL, outKey);
            compared++;
          }
          const merged = file.get(mergedKey);
          if (merged) {
            if (version === 'v1_8_3' && name === 'lokr_conv1_full_dim1024') {
              // 1.8.3 merge does not unsqueeze lokr_w1 for a conv weight: a different (wrong) tensor.
              assert.ok(Math.abs(merged.sub(c.mod.mergedWeight(m)).abs().max().item()) > 1e-3);
              continue;
            }
            const mine = c.mod.mergedWeight(m);
            assertClose(mine, merged, WEIGHT_TOL, mergedKey);
            compared++;
          }
        }
      });
    }
    assert.ok(compared > 40, `compared ${compared} tensors`);
    // Factorization: 1.9 equals HEAD; 1.8.3 does not sort the exact-factor pair.
    for (const [d, f, m, n] of json.factorization.rows) {
      assert.deepEqual(factorization(d, f, { legacy: version === 'v1_8_3' }), [m, n], `factorization(${d}, ${f})`);
    }
  });
}
