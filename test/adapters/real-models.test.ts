// Adapter networks on the real full-size model classes (built without init, on the meta device):
// kohya module names and shapes equal golden/models/lora_names for SD1.5 (diffusers paths) and
// SDXL (SGM paths, as sd-scripts' SDXL U-Net names them), and the guide's two presets, read by the
// config layer, give the files the guide's users got (spec TV-8) and load back bit-exact; every
// kohya name resolves to its weight in full-size single-file and diffusers checkpoints (sparse files).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openBaseWeights } from '../../src/adapters/base-weights.ts';
import { adapterTensors, loadIntoNetwork, saveAdapterFile } from '../../src/adapters/file.ts';
import { inspectAdapter } from '../../src/adapters/inspect.ts';
import { adapterMetadata } from '../../src/adapters/metadata.ts';
import { AdapterNetwork, type NetworkConfig } from '../../src/adapters/network.ts';
import { PRESETS, parseConfig } from '../../src/config/index.ts';
import * as torch from '../../src/torch/index.ts';
import { safetensors } from '../../src/torch/index.ts';
import { networkConfigFromTrain } from '../../src/train/network-config.ts';
import { goldenDir } from '../helpers/golden.ts';
import { writeSparseCheckpoint, writeSparseDiffusers } from '../models/sparse-checkpoint.ts';
import { fullSizeModels } from './full-size.ts';
import { loraNamesFile } from './sd-layout.ts';

const dir = mkdtempSync(join(tmpdir(), 'lyco-real-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const quiet = () => {};

for (const [family, file, counts] of [
  ['sd1', 'sd15', [264, 350]],
  ['sdxl', 'sdxl', [986, 1052]],
] as const) {
  test(`kohya names on the real ${file} classes equal golden lora_names (${counts[0]} / ${counts[1]} with conv)`, (t) => {
    const golden = goldenDir(t);
    if (!golden) return;
    const { modules } = loraNamesFile(golden, file);
    const models = fullSizeModels(family);
    const cfg: NetworkConfig = { networkModule: 'networks.lora', algo: 'lora', networkDim: 4, networkAlpha: 1, convDim: 4, convAlpha: 1 };
    const net = new AdapterNetwork(cfg, models, quiet);
    assert.equal(net.adapters.length, counts[1]);
    const got = new Map(net.adapters.map((a) => [a.loraName, a]));
    assert.deepEqual([...got.keys()].sort(), modules.map((e) => e.lora_name).sort());
    for (const e of modules) {
      const a = got.get(e.lora_name)!;
      assert.deepEqual(a.get('lora_down.weight').shape, e['lora_down.weight'], `${e.lora_name} lora_down`);
      assert.deepEqual(a.get('lora_up.weight').shape, e['lora_up.weight'], `${e.lora_name} lora_up`);
      assert.equal(a.layer.kernel, e.kernel?.[0] ?? 1, `${e.lora_name} kernel`);
      assert.equal(a.target.constructor.name, e.kind === 'Linear' ? 'Linear' : 'Conv2d');
    }
    const noConv = new AdapterNetwork({ ...cfg, convDim: undefined }, models, quiet);
    assert.equal(noConv.adapters.length, counts[0]);
    assert.deepEqual(
      noConv.adapters.map((a) => a.loraName).sort(),
      modules
        .filter((e) => !e.needs_conv_dim)
        .map((e) => e.lora_name)
        .sort(),
    );
  });
}

test('SDXL: unetNames "diffusers" keeps diffusers paths (for tools that name SDXL that way)', () => {
  const models = fullSizeModels('sdxl');
  const net = new AdapterNetwork(
    { networkModule: 'networks.lora', algo: 'lora', networkDim: 1 },
    { ...models, unetNames: 'diffusers' },
    quiet,
  );
  const names = new Set(net.adapters.map((a) => a.loraName));
  assert.ok(names.has('lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q'));
  assert.ok(!names.has('lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q'));
});

/** Preset text → network config, as `lyco train` reads it (kohya mode: what kohya_ss 21.8 ran). */
function presetNetwork(name: 'ia3' | 'lokr') {
  const p = PRESETS.find((x) => x.name === name)!;
  const loaded = parseConfig(p.text, `${name}.json`);
  const cfg = networkConfigFromTrain(loaded.config, false);
  const net = new AdapterNetwork(cfg, fullSizeModels('sd1'), quiet);
  const meta = adapterMetadata({
    config: cfg,
    networkArgs: loaded.passed.network_args,
    trainingComment: 'rentry.co/ProdiAgy',
    outputName: name,
  });
  return { cfg, net, meta };
}

/** Bytes of the data section (file minus header). */
const dataBytes = (path: string) => {
  const buf = readFileSync(path);
  return buf.length - 8 - Number(buf.readBigUInt64LE(0));
};

/** Loads `path` into a fresh network built the same way and checks every tensor re-saves to the file's bytes. */
function assertLoadsBackBitExact(path: string, build: () => AdapterNetwork): void {
  const fresh = build();
  const report = loadIntoNetwork(fresh, path, { strict: true });
  assert.deepEqual(report, { missing: [], unexpected: [], mismatched: [] });
  const file = safetensors.load(path);
  const again = adapterTensors(fresh.adapters, 'float16');
  try {
    assert.equal(again.size, file.size);
    for (const [k, t] of again) {
      const f = file.get(k)!;
      assert.equal(f.dtype, t.dtype, k);
      assert.ok(Buffer.from(f.data().buffer).equals(Buffer.from(t.data().buffer)), `${k}: bytes differ after load`);
    }
  } finally {
    for (const t of again.values()) t.dispose();
    file.dispose();
  }
}

test('guide iA3 preset on the real SD1.5 classes: 116 modules, 90,048 values, ≈200 KB, loads back bit-exact', () => {
  const { cfg, net, meta } = presetNetwork('ia3');
  assert.equal(cfg.algo, 'ia3');
  assert.equal(net.adapters.length, 116);
  assert.equal(net.trainedValues(), 90_048);
  for (const a of net.adapters) assert.equal(a.get('on_input').item(), 0, `${a.loraName} scales its output`);
  torch.manualSeed(11);
  torch.noGrad(() => {
    for (const p of net.parameters()) p.copy_(torch.randn(p.shape).mul(0.1));
  });
  const path = join(dir, 'ia3.safetensors');
  saveAdapterFile(path, net, { dtype: 'float16', metadata: meta });
  assert.equal(dataBytes(path), 180_328); // 90,048 weights + 116 on_input, F16
  const info = inspectAdapter(path);
  assert.ok(info.bytes > 190_000 && info.bytes < 230_000, `file ${info.bytes} bytes (guide: about 200 KB)`);
  assert.deepEqual([info.algorithm, info.modules, info.parameters], ['ia3', 116, 90_048]);
  assertLoadsBackBitExact(path, () => presetNetwork('ia3').net);
});

test('guide LoKr preset on the real SD1.5 classes: 350 full-matrix modules, ≈2.50 MB fp16, loads back bit-exact', () => {
  const { cfg, net, meta } = presetNetwork('lokr');
  assert.deepEqual([cfg.algo, cfg.networkDim, cfg.convDim, cfg.factor], ['lokr', 1024, 512, -1]);
  assert.equal(net.adapters.length, 350);
  assert.equal(net.trainedValues(), 1_251_280);
  for (const a of net.adapters) {
    assert.deepEqual([...a.fileTensors().keys()].sort(), ['alpha', 'lokr_w1', 'lokr_w2'], a.loraName);
    assert.equal(a.get('alpha').item(), a.layer.kernel === 1 ? 1024 : 512, `${a.loraName} alpha = dim (scale 1)`);
  }
  torch.manualSeed(12);
  torch.noGrad(() => {
    for (const p of net.parameters()) p.copy_(torch.randn(p.shape).mul(0.1));
  });
  const path = join(dir, 'lokr.safetensors');
  saveAdapterFile(path, net, { dtype: 'float16', metadata: meta });
  assert.equal(dataBytes(path), 2_503_260); // 1,251,280 factor values + 350 alphas, F16: 2.50 MB
  const info = inspectAdapter(path);
  assert.ok(info.bytes > 2_500_000 && info.bytes < 2_750_000, `file ${info.bytes} bytes (guide: 2.5 MB)`);
  assert.deepEqual([info.algorithm, info.modules, info.parameters], ['lokr', 350, 1_251_280]);
  assertLoadsBackBitExact(path, () => presetNetwork('lokr').net);
});

for (const [model, file] of [
  ['sd15', 'sd15'],
  ['sdxl', 'sdxl'],
] as const) {
  test(`every kohya ${model} module name finds its base weight in a single file and a diffusers folder`, (t) => {
    const golden = goldenDir(t);
    if (!golden) return;
    const { modules } = loraNamesFile(golden, file);
    const single = join(dir, `${model}.safetensors`);
    writeSparseCheckpoint(golden, model, single);
    const folder = join(dir, `${model}-diffusers`);
    writeSparseDiffusers(golden, model, folder);
    for (const path of [single, folder]) {
      const base = openBaseWeights(path);
      try {
        for (const e of modules) {
          const layer = base.layer(e.lora_name);
          assert.ok(layer, `${path}: ${e.lora_name} resolves`);
          assert.deepEqual(layer.weight.shape.slice(0, 2), [e.out, e.in], e.lora_name);
        }
      } finally {
        base.dispose();
      }
    }
  });
}
