// SDXL training on a tiny random SDXL-layout model: both guide presets train a few steps over the
// UNet and both text encoders, the adapter carries te1/te2/unet modules in kohya's SGM names with
// SDXL metadata, the loss stays finite, samples render, and the file merges back into the model it was trained on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findPreset } from '../../src/config/index.ts';
import { StableDiffusionPipeline } from '../../src/models/pipeline.ts';
import * as torch from '../../src/torch/index.ts';
import { sizeConditioning } from '../../src/train/size-conditioning.ts';
import { train } from '../../src/train/trainer.ts';
import { readScalars, tinyArgs, workspace } from './harness.ts';

for (const preset of ['ia3', 'lokr'] as const) {
  test(`SDXL: guide preset ${preset} trains the UNet and both text encoders`, async () => {
    // ia3 relies on the model to say it is SDXL; lokr says so as kohya_ss's SDXL checkbox does.
    const text = findPreset(preset)?.text as string;
    const config = preset === 'lokr' ? text.replace('{', '{\n  "sdxl": true,') : text;
    const ws = await workspace(preset, { sdxl: true, config });
    const lines: string[] = [];
    try {
      const r = await train({
        config: ws.config,
        model: ws.model,
        data: ws.data,
        output: ws.out('out'),
        outputName: `xl-${preset}`,
        argv: tinyArgs('--max_train_epochs', '1', '--flip_aug', '--sample_every_n_epochs', '1', '--sample_prompts', ws.prompts),
        progress: false,
        log: (l) => lines.push(l),
      });
      assert.equal(r.globalStep, 3);
      assert.equal(r.samples.length, 1, 'an SDXL sample (pooled text_embeds and time_ids at its own size)');
      assert.equal(
        lines.some((l) => l.includes('training it as SDXL')),
        preset === 'ia3',
        'the model-detected SDXL is reported only when the config did not say so',
      );
      const losses = readScalars(r.logDir).scalars.filter((s) => s.tag === 'loss/current');
      assert.equal(losses.length, 3);
      assert.ok(
        losses.every((s) => Number.isFinite(s.value) && s.value > 0),
        'finite loss',
      );

      const file = r.finalFile as string;
      const f = torch.safetensors.load(file);
      let modules: Set<string>;
      try {
        const md = f.metadata;
        assert.equal(md.ss_base_model_version, 'sdxl_base_v1-0');
        assert.equal(md['modelspec.architecture'], 'stable-diffusion-xl-v1-base/lora');
        assert.equal(md.ss_v2, 'False');
        modules = new Set([...f.keys()].map((k) => k.slice(0, k.indexOf('.'))));
        for (const prefix of ['lora_te1_text_model_encoder_layers_', 'lora_te2_text_model_encoder_layers_', 'lora_unet_input_blocks_']) {
          assert.ok(
            [...modules].some((m) => m.startsWith(prefix)),
            `${prefix}* modules saved`,
          );
        }
        assert.ok(![...modules].some((m) => m.startsWith('lora_te_') || m.startsWith('lora_unet_down_blocks')));
        if (preset === 'lokr') assert.ok([...f.keys()].some((k) => k.endsWith('.lokr_w1')));
        // Trained: iA3 weights and LoKr's w2 start at zero.
        const moved = [...f.entries()].some(
          ([k, t]) => (k.endsWith('.weight') || k.endsWith('lokr_w2')) && t.to('float32').abs().max().item() > 0,
        );
        assert.ok(moved, 'training changed the adapter');
      } finally {
        f.dispose();
      }

      // Loads back: every module merges into the SDXL model (unmatched modules throw).
      const p = StableDiffusionPipeline.load(ws.model, { network: file });
      try {
        assert.equal(p.family, 'sdxl');
        assert.equal(p.adapter?.modules, modules.size);
      } finally {
        p.dispose();
      }
    } finally {
      ws.cleanup();
    }
  });
}

test('SDXL size conditioning: original size, crop top-left (mirrored when flipped), bucket', () => {
  // 45x32 fitted into a 64x32 bucket is 45 wide: left = (64 - 45) // 2 = 9, right = 54.
  const entry = { imageSize: [45, 32], bucketReso: [64, 32] } as never;
  assert.deepEqual(sizeConditioning({ entry, flipped: false }), [32, 45, 0, 9, 32, 64]);
  assert.deepEqual(sizeConditioning({ entry, flipped: true }), [32, 45, 0, 10, 32, 64]);
  // Taller than the bucket: fitted by width, centred vertically.
  const tall = { imageSize: [32, 50], bucketReso: [32, 64] } as never;
  assert.deepEqual(sizeConditioning({ entry: tall, flipped: false }), [50, 32, 7, 0, 64, 32]);
});
