// lyco merge / extract against the modules' own weights: merging a saved adapter into a checkpoint
// reproduces each module's forward-consistent merged weight; extracting from (base, merged) gives
// a LoRA whose ΔW is the difference; LDM names map through A1111's rules.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Algo } from '../../src/adapters/base.ts';
import { extractLora } from '../../src/adapters/extract.ts';
import { readAdapterFile, saveAdapterFile } from '../../src/adapters/file.ts';
import { diffusersToCompvis, loraKeyIndex, resolveModule } from '../../src/adapters/keymap.ts';
import { mergeAdapter, moduleDelta } from '../../src/adapters/merge.ts';
import { AdapterNetwork } from '../../src/adapters/network.ts';
import type { Tensor } from '../../src/torch/index.ts';
import * as torch from '../../src/torch/index.ts';
import { assertClose, WEIGHT_TOL } from './close.ts';
import { TinyCLIP, TinyUNet } from './tiny-models.ts';

const dir = mkdtempSync(join(tmpdir(), 'lyco-merge-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const quiet = () => {};

function checkpointOf(unet: TinyUNet, te: TinyCLIP): Map<string, Tensor> {
  const ck = new Map<string, Tensor>();
  for (const [k, t] of unet.stateDict()) ck.set(`unet.${k}`, t);
  for (const [k, t] of te.stateDict()) ck.set(`text_encoder.${k}`, t);
  return ck;
}

for (const algo of ['lora', 'locon', 'loha', 'lokr', 'ia3', 'full'] as Algo[]) {
  test(`merge ${algo}: checkpoint weights equal the modules' merged weights (m = 0.7)`, () => {
    torch.manualSeed(11);
    const unet = new TinyUNet();
    const te = new TinyCLIP();
    const net = new AdapterNetwork(
      {
        networkModule: algo === 'lora' ? 'networks.lora' : 'lycoris.kohya',
        algo,
        networkDim: 4,
        networkAlpha: 2,
        convDim: 2,
        convAlpha: 1,
      },
      { unet, textEncoders: [te] },
      quiet,
    );
    torch.noGrad(() => {
      for (const p of net.parameters()) p.copy_(torch.randn(p.shape).mul(0.1));
    });
    const path = join(dir, `${algo}.safetensors`);
    saveAdapterFile(path, net);
    const file = readAdapterFile(path);
    const { patched, report } = mergeAdapter(checkpointOf(unet, te), file, 0.7);
    assert.deepEqual(report.unmatched, []);
    assert.equal(report.merged, net.adapters.length);
    for (const a of net.adapters) {
      const key = [...patched.keys()].find(
        (k) => k.replaceAll('.', '_') === `${a.loraName.replace(/^lora_unet_/, 'unet_').replace(/^lora_te_/, 'text_encoder_')}_weight`,
      );
      assert.ok(key, a.loraName);
      assertClose(patched.get(key)!, a.mergedWeight(0.7), WEIGHT_TOL, a.loraName);
    }
    file.dispose();
  });
}

test('extract: LoRA of the difference reproduces it (rank ≥ the true rank, no clamping)', () => {
  torch.manualSeed(3);
  const unet = new TinyUNet();
  const te = new TinyCLIP();
  const net = new AdapterNetwork(
    { networkModule: 'networks.lora', algo: 'lora', networkDim: 2, networkAlpha: 2, convDim: 2, convAlpha: 2 },
    { unet, textEncoders: [te] },
    quiet,
  );
  torch.noGrad(() => {
    for (const p of net.parameters()) p.copy_(torch.randn(p.shape).mul(0.2));
  });
  const path = join(dir, 'src.safetensors');
  saveAdapterFile(path, net);
  const base = checkpointOf(unet, te);
  const file = readAdapterFile(path);
  const { patched } = mergeAdapter(base, file, 1);
  file.dispose();
  const tuned = new Map([...base, ...patched]);
  const { tensors, report } = extractLora(base, tuned, { dim: 4, convDim: 4, clampQuantile: 1, minDiff: 0 });
  const names = new Set([...tensors.keys()].map((k) => k.split('.')[0]));
  assert.deepEqual(
    net.adapters.map((a) => a.loraName).filter((n) => !names.has(n)),
    [],
    `skipped: ${report.skipped}`,
  );
  assert.equal(report.extracted, net.adapters.length);
  const index = loraKeyIndex(base.keys());
  for (const a of net.adapters) {
    const stem = resolveModule(index, a.loraName)!;
    const mod = new Map([...tensors].filter(([k]) => k.startsWith(`${a.loraName}.`)).map(([k, v]) => [k.slice(a.loraName.length + 1), v]));
    assert.equal(mod.size, 3, a.loraName);
    const { delta } = moduleDelta(mod, base.get(`${stem}.weight`)!);
    assertClose(delta, a.diffWeight(1), { atol: 2e-5, rtol: 1e-4 }, `${a.loraName} (SVD, float32)`);
  }
});

test('diffusers → LDM names (A1111 rules)', () => {
  assert.equal(
    diffusersToCompvis('down_blocks_1_attentions_1_transformer_blocks_0_attn2_to_k'),
    'input_blocks_5_1_transformer_blocks_0_attn2_to_k',
  );
  assert.equal(diffusersToCompvis('down_blocks_0_resnets_1_conv1'), 'input_blocks_2_0_in_layers_2');
  assert.equal(diffusersToCompvis('mid_block_resnets_1_time_emb_proj'), 'middle_block_2_emb_layers_1');
  assert.equal(diffusersToCompvis('up_blocks_3_attentions_2_proj_out'), 'output_blocks_11_1_proj_out');
  assert.equal(diffusersToCompvis('down_blocks_2_downsamplers_0_conv'), 'input_blocks_9_0_op');
  assert.equal(diffusersToCompvis('up_blocks_0_upsamplers_0_conv'), 'output_blocks_2_1_conv');
  assert.equal(diffusersToCompvis('up_blocks_1_upsamplers_0_conv'), 'output_blocks_5_2_conv');
  const index = loraKeyIndex([
    'model.diffusion_model.input_blocks.5.1.proj_in.weight',
    'cond_stage_model.transformer.text_model.encoder.layers.0.mlp.fc2.weight',
  ]);
  assert.equal(resolveModule(index, 'lora_unet_down_blocks_1_attentions_1_proj_in'), 'model.diffusion_model.input_blocks.5.1.proj_in');
  assert.equal(
    resolveModule(index, 'lora_te_text_model_encoder_layers_0_mlp_fc2'),
    'cond_stage_model.transformer.text_model.encoder.layers.0.mlp.fc2',
  );
});
