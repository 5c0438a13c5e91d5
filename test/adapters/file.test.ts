// Saving and loading adapter files: the guide's two presets on an SD1.5-shaped model (module
// counts, trained values and file sizes of spec TV-8), bit-exact round trips in fp32/fp16/bf16,
// load reports that name the keys, sd-scripts' hashes (TV-7), and inspect on lyco's own files and
// on every golden LyCORIS file.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Algo } from '../../src/adapters/base.ts';
import { loadIntoNetwork, readAdapterFile, saveAdapterFile, writeChecked } from '../../src/adapters/file.ts';
import { inspectAdapter } from '../../src/adapters/inspect.ts';
import { adapterMetadata } from '../../src/adapters/metadata.ts';
import { AdapterNetwork, type NetworkConfig } from '../../src/adapters/network.ts';
import { pyFloat, pyJsonDumps } from '../../src/adapters/py-str.ts';
import * as torch from '../../src/torch/index.ts';
import { safetensors } from '../../src/torch/index.ts';
import { goldenDir } from '../helpers/golden.ts';
import { buildLayout } from './sd-layout.ts';
import { TinyCLIP, TinyUNet } from './tiny-models.ts';

const dir = mkdtempSync(join(tmpdir(), 'lyco-adapters-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const quiet = () => {};

const IA3_PRESET: NetworkConfig = {
  networkModule: 'lycoris.kohya',
  algo: 'ia3',
  networkDim: 1024,
  networkAlpha: 1024,
  convDim: 512,
  convAlpha: 512,
  dropout: 0.3,
  trainOnInput: true,
};
const LOKR_PRESET: NetworkConfig = { ...IA3_PRESET, algo: 'lokr', factor: -1, trainOnInput: undefined };

test('guide iA3 preset on SD1.5: 116 modules, 90,048 values, ~180 KB of fp16 data, on_input 0, warnings', (t) => {
  const golden = goldenDir(t);
  if (!golden) return;
  const { unet, textEncoders } = buildLayout(golden, 'sd15');
  const warnings: string[] = [];
  const net = new AdapterNetwork(IA3_PRESET, { unet, textEncoders }, (w) => warnings.push(w));
  assert.equal(net.adapters.length, 116);
  assert.equal(net.trainedValues(), 90_048);
  assert.ok(warnings.some((w) => w.startsWith('train_on_input')));
  assert.ok(warnings.some((w) => w.startsWith('network_dropout')));
  assert.deepEqual(net.applyMaxNormRegularization(1), { keysScaled: 0, meanNorm: 0, maxNorm: 0 });
  const path = join(dir, 'ia3.safetensors');
  saveAdapterFile(path, net, {
    dtype: 'float16',
    metadata: adapterMetadata({ config: IA3_PRESET, scaleWeightNorms: 1, title: 't', date: new Date(0) }),
  });
  const size = statSync(path).size;
  const buf = readFileSync(path);
  const headerLen = Number(buf.readBigUInt64LE(0));
  assert.equal(size - 8 - headerLen, 180_328); // 90,048 weights + 116 on_input, F16
  assert.ok(size > 190_000 && size < 215_000, `file ${size} bytes (guide: about 200 KB)`);
  const info = inspectAdapter(path);
  assert.equal(info.algorithm, 'ia3');
  assert.equal(info.parameters, 90_048);
  assert.equal(info.metadata.ss_scale_weight_norms, 'False');
  const f = readAdapterFile(path);
  for (const m of f.modules.values()) assert.equal(m.get('on_input')!.item(), 0);
  f.dispose();
  // As written: fc2 / ff.net.2 on input gives the paper's 155,136 values.
  const asWritten = new AdapterNetwork({ ...IA3_PRESET, ia3TrainOnInputAsWritten: true }, { unet, textEncoders }, quiet);
  assert.equal(asWritten.trainedValues(), 155_136);
});

test('guide LoKr preset on SD1.5: 350 full-matrix modules, 1,251,280 values, 2,503,260 fp16 data bytes', (t) => {
  const golden = goldenDir(t);
  if (!golden) return;
  const { unet, textEncoders } = buildLayout(golden, 'sd15');
  const net = new AdapterNetwork(LOKR_PRESET, { unet, textEncoders }, quiet);
  assert.equal(net.adapters.length, 350);
  assert.equal(net.trainedValues(), 1_251_280);
  for (const a of net.adapters) assert.deepEqual([...a.fileTensors().keys()].sort(), ['alpha', 'lokr_w1', 'lokr_w2']);
  const byName = new Map(net.adapters.map((a) => [a.loraName, a]));
  const q = byName.get('lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q')!;
  assert.deepEqual(
    [q.get('lokr_w1').shape, q.get('lokr_w2').shape],
    [
      [16, 16],
      [20, 20],
    ],
  );
  const c = byName.get('lora_unet_down_blocks_0_resnets_0_conv1')!;
  assert.deepEqual([c.get('lokr_w1').shape, c.get('lokr_w2').shape, c.get('alpha').item()], [[16, 16], [20, 20, 3, 3], 512]);
  const path = join(dir, 'lokr.safetensors');
  saveAdapterFile(path, net, { dtype: 'float16', metadata: { ss_network_module: 'lycoris.kohya' } });
  const buf = readFileSync(path);
  const dataBytes = buf.length - 8 - Number(buf.readBigUInt64LE(0));
  assert.equal(dataBytes, 2_503_260);
  // Header (1,050 keys) adds ~134 KB: 2.64 MB = 2.52 MiB, the guide's "2.5 MB" (1–3 MB).
  assert.ok(buf.length > 2_500_000 && buf.length < 2_750_000, `file ${buf.length} bytes (guide: 2.5 MB)`);
  assert.equal(inspectAdapter(path).algorithm, 'lokr');
  // Max-norm 1 on the zero-initialised network scales nothing; after a kick it clamps to 1.
  assert.equal(net.applyMaxNormRegularization(1).keysScaled, 0);
  torch.noGrad(() => q.get('lokr_w2').fill_(1));
  const stats = net.applyMaxNormRegularization(1);
  assert.equal(stats.keysScaled, 1);
  assert.ok(Math.abs(stats.maxNorm - 1) < 1e-4, `max norm ${stats.maxNorm}`);
  const after = q.deltaWeight().norm().item();
  assert.ok(Math.abs(after - 1) < 1e-4, `norm after ${after}`); // float32 sum over 102,400 values
});

function tinyNetwork(algo: Algo, extra: Partial<NetworkConfig> = {}) {
  const models = { unet: new TinyUNet(), textEncoders: [new TinyCLIP()] };
  const cfg: NetworkConfig = {
    networkModule: algo === 'lora' ? 'networks.lora' : algo === 'dylora' ? 'networks.dylora' : 'lycoris.kohya',
    algo,
    networkDim: 4,
    networkAlpha: 2,
    convDim: 4,
    convAlpha: 1,
    ...extra,
  };
  return { models, cfg, net: new AdapterNetwork(cfg, models, quiet) };
}

const EXPECT: Record<Algo, string> = {
  lora: 'locon',
  locon: 'locon',
  loha: 'loha',
  lokr: 'lokr',
  ia3: 'ia3',
  dylora: 'dylora',
  full: 'full',
};

for (const algo of ['lora', 'locon', 'loha', 'lokr', 'ia3', 'dylora', 'full'] as Algo[]) {
  test(`save → load round trip and inspect: ${algo}`, () => {
    torch.manualSeed(7);
    const { models, cfg, net } = tinyNetwork(algo);
    assert.ok(net.adapters.length > 0);
    torch.noGrad(() => {
      for (const p of net.parameters()) p.copy_(torch.randn(p.shape));
    });
    for (const dtype of ['float32', 'float16', 'bfloat16'] as const) {
      const path = join(dir, `rt-${algo}-${dtype}.safetensors`);
      saveAdapterFile(path, net, {
        dtype,
        metadata: adapterMetadata({ config: cfg, networkArgs: { algo }, title: 't', date: new Date(0) }),
      });
      const fresh = new AdapterNetwork(cfg, models, quiet);
      const report = loadIntoNetwork(fresh, path, { strict: true });
      assert.deepEqual(report, { missing: [], unexpected: [], mismatched: [] });
      for (const [k, t] of net.stateDict()) {
        const back = fresh.stateDict().get(k)!;
        const expected = t.to(dtype).to(t.dtype);
        assert.ok(back.eq(expected).all().item(), `${dtype} ${k} differs after the round trip`);
      }
      const info = inspectAdapter(path);
      const kohyaLora = algo === 'lora';
      assert.equal(info.algorithm, kohyaLora ? 'locon' : EXPECT[algo]); // conv_dim set: kohya LoCon
      assert.equal(info.modules, net.adapters.length);
    }
  });
}

test('inspect: kohya LoRA without conv layers is lora; the file reads back its metadata', () => {
  const { cfg, net } = tinyNetwork('lora', { convDim: undefined });
  const path = join(dir, 'plain-lora.safetensors');
  saveAdapterFile(path, net, {
    dtype: 'float16',
    metadata: adapterMetadata({ config: cfg, outputName: 'x', title: 'x', date: new Date(0) }),
  });
  const info = inspectAdapter(path);
  assert.equal(info.algorithm, 'lora');
  assert.equal(info.metadata.ss_network_alpha, '2.0');
  assert.equal(info.metadata.ss_output_name, 'x');
  assert.match(info.metadata.sshs_model_hash, /^[0-9a-f]{64}$/);
  assert.equal(info.metadata.sshs_legacy_hash, 'e3b0c442');
});

test('a missing or misnamed key is reported by name', () => {
  const { cfg, models, net } = tinyNetwork('lokr');
  const path = join(dir, 'good.safetensors');
  saveAdapterFile(path, net);
  const f = safetensors.load(path);
  const first = net.adapters[0].loraName;
  const edited = new Map([...f].filter(([k]) => k !== `${first}.lokr_w1`));
  edited.set(`${first}.lokr_wl`, f.get(`${first}.lokr_w1`)!);
  const bad = join(dir, 'bad.safetensors');
  safetensors.save(bad, edited);
  f.dispose();
  const fresh = new AdapterNetwork(cfg, models, quiet);
  const r = loadIntoNetwork(fresh, bad);
  assert.deepEqual(r.missing, [`${first}.lokr_w1`]);
  assert.deepEqual(r.unexpected, [`${first}.lokr_wl`]);
  assert.throws(
    () => loadIntoNetwork(fresh, bad, { strict: true }),
    new RegExp(`missing.*${first}\\.lokr_w1.*unknown.*${first}\\.lokr_wl`),
  );
  assert.equal(inspectAdapter(bad).unknownModules.length, 1);
});

test('sshs hashes (spec TV-7) and Python str conventions', () => {
  const tensors = new Map([
    ['lora_unet_x.alpha', torch.tensor(1, { dtype: 'float16' })],
    ['lora_unet_x.lora_down.weight', torch.tensor([[0.5, -1.0]], { dtype: 'float16' })],
    ['lora_unet_x.lora_up.weight', torch.tensor([[1.0], [2.0]], { dtype: 'float16' })],
  ]);
  const path = join(dir, 'tv7.safetensors');
  writeChecked(path, tensors, { ss_network_module: 'networks.lora' });
  const f = safetensors.load(path);
  assert.equal(f.metadata.sshs_model_hash, 'b4e3e944c976e8c74fc4804ae2afca25bc33b8f8cef738466af6b330899adfb8');
  assert.equal(f.metadata.sshs_legacy_hash, 'e3b0c442');
  f.dispose();
  assert.deepEqual([1024, 0.3, 1e-5, 1, 2.5e-7, 1e16, 123.456].map(pyFloat), [
    '1024.0',
    '0.3',
    '1e-05',
    '1.0',
    '2.5e-07',
    '1e+16',
    '123.456',
  ]);
  assert.equal(pyJsonDumps({ conv_dim: '512', algo: 'lokr' }), '{"conv_dim": "512", "algo": "lokr"}');
});

test('inspect detects the algorithm of every golden LyCORIS file', (t) => {
  const gdir = goldenDir(t, 'lycoris');
  if (!gdir) return;
  const files = readdirSync(gdir).filter((f) => f.endsWith('.lycoris.safetensors'));
  assert.equal(files.length, 24);
  for (const f of files) {
    const name = f.replace('.lycoris.safetensors', '');
    const algo: string = JSON.parse(readFileSync(join(gdir, `${name}.json`), 'utf8')).algo;
    const info = inspectAdapter(join(gdir, f));
    assert.equal(info.algorithm, algo, f);
    assert.equal(info.modules, 1);
    assert.deepEqual(info.unknownModules, []);
  }
});
