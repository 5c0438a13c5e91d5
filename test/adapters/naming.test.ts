// Module discovery and names against golden/models/lora_names (kohya networks.lora with
// network_dim 4 / alpha 1, conv_dim 4 / conv_alpha 1) for SD1.5 and SDXL, plus the module counts
// of spec TV-8 for the LyCORIS and iA3 rules.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdapterNetwork, type NetworkConfig } from '../../src/adapters/network.ts';
import { goldenDir } from '../helpers/golden.ts';
import { buildLayout } from './sd-layout.ts';

const quiet = () => {};

for (const model of ['sd15', 'sdxl'] as const) {
  test(`lora_names golden ${model}: kohya networks.lora names, shapes and counts`, (t) => {
    const golden = goldenDir(t);
    if (!golden) return;
    const { unet, textEncoders, entries } = buildLayout(golden, model);
    const cfg: NetworkConfig = { networkModule: 'networks.lora', algo: 'lora', networkDim: 4, networkAlpha: 1, convDim: 4, convAlpha: 1 };
    const net = new AdapterNetwork(cfg, { unet, textEncoders }, quiet);
    const got = new Map(net.adapters.map((a) => [a.loraName, a]));
    assert.equal(net.adapters.length, entries.length);
    assert.deepEqual([...got.keys()].sort(), entries.map((e) => e.lora_name).sort());
    for (const e of entries) {
      const a = got.get(e.lora_name)!;
      assert.deepEqual(a.get('lora_down.weight').shape, e['lora_down.weight'], `${e.lora_name} lora_down`);
      assert.deepEqual(a.get('lora_up.weight').shape, e['lora_up.weight'], `${e.lora_name} lora_up`);
      assert.equal(a.get('alpha').item(), 1);
    }
    const noConv = new AdapterNetwork({ ...cfg, convDim: undefined }, { unet, textEncoders }, quiet);
    assert.deepEqual(
      noConv.adapters.map((a) => a.loraName).sort(),
      entries
        .filter((e) => !e.needs_conv_dim)
        .map((e) => e.lora_name)
        .sort(),
    );
  });
}

test('SD1.5 module counts (spec TV-8): 264 / 350 / 354 / 300 / 116', (t) => {
  const golden = goldenDir(t);
  if (!golden) return;
  const { unet, textEncoders } = buildLayout(golden, 'sd15');
  const count = (c: NetworkConfig) => new AdapterNetwork(c, { unet, textEncoders }, quiet).adapters.length;
  const ly: NetworkConfig = { networkModule: 'lycoris.kohya', algo: 'locon', networkDim: 4, networkAlpha: 1 };
  assert.equal(count({ networkModule: 'networks.lora', algo: 'lora', networkDim: 4 }), 264);
  assert.equal(count({ ...ly, convDim: 4 }), 350);
  assert.equal(count({ ...ly, convDim: 4, lycorisVersion: 3 }), 354);
  assert.equal(count({ ...ly, convDim: 0 }), 300);
  assert.equal(count({ ...ly, algo: 'ia3' }), 116);
});
