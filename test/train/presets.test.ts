// Both guide presets, pasted as the guide prints them, train end to end on the tiny model:
// adapter files with kohya names and ss_* metadata, TensorBoard events that protobufjs reads,
// and sample images.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { findPreset } from '../../src/config/index.ts';
import * as torch from '../../src/torch/index.ts';
import { train } from '../../src/train/trainer.ts';
import { readScalars, tinyArgs, workspace } from './harness.ts';

for (const preset of ['ia3', 'lokr'] as const) {
  test(`guide preset ${preset}, verbatim, trains end to end on the tiny model`, async () => {
    const ws = await workspace(preset);
    const lines: string[] = [];
    try {
      assert.match(
        findPreset(preset)?.text ?? '',
        /"training_comment": "rentry.co\/ProdiAgy",\s+"unet_lr": 1.0,\n}\s*$/,
        'the guide text, trailing comma included',
      );
      const r = await train({
        config: ws.config,
        model: ws.model,
        data: ws.data,
        output: ws.out('out'),
        outputName: `tiny-${preset}`,
        argv: tinyArgs(
          '--max_train_epochs',
          '4',
          '--save_every_n_epochs',
          '2',
          '--sample_every_n_epochs',
          '2',
          '--sample_prompts',
          ws.prompts,
        ),
        progress: false,
        log: (l) => lines.push(l),
      });
      // 3 images x 1 repeat, batch 1: 3 steps per epoch, 4 epochs.
      assert.equal(r.globalStep, 12);
      assert.equal(r.plannedSteps, 12);
      assert.ok(
        lines.some((l) => l.includes('T_max=200 replaced by 12')),
        'T_max follows the plan',
      );
      assert.ok(
        lines.some((l) => l.includes('noise_offset') && l.includes('Multires')),
        'inert keys are reported',
      );
      assert.deepEqual(
        r.saves.map((s) => [s.kind, s.step]),
        [
          ['epoch', 6],
          ['final', 12],
        ],
      );
      const final = r.finalFile as string;
      assert.ok(existsSync(final));
      const f = torch.safetensors.load(final);
      try {
        const keys = [...f.keys()];
        const md = f.metadata;
        assert.equal(md.ss_training_comment, 'rentry.co/ProdiAgy');
        assert.equal(md.ss_network_module, 'lycoris.kohya');
        assert.equal(md.ss_steps, '12');
        assert.equal(md.ss_optimizer.startsWith('prodigyopt.prodigy.Prodigy'), true);
        assert.ok(JSON.parse(md.ss_network_args).algo === preset);
        assert.ok(md.sshs_model_hash && md.sshs_legacy_hash, 'sshs hashes written');
        assert.equal(md.ss_dataset_dirs, '{"1_subject": {"n_repeats": 1, "img_count": 3}}');
        assert.equal(md.ss_max_train_steps, '12');
        assert.ok(keys.some((k) => k.startsWith('lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.')));
        assert.ok(
          keys.some((k) => k.startsWith('lora_te_text_model_encoder_layers_0_')),
          'text encoder trained (text_encoder_lr 1.0)',
        );
        if (preset === 'ia3') assert.ok(keys.every((k) => k.endsWith('.weight') || k.endsWith('.on_input')));
        else assert.ok(keys.some((k) => k.endsWith('.lokr_w1')));
        for (const t of f.values()) if (t.dtype !== 'bool') assert.equal(t.dtype, 'float16', 'save_precision fp16');
        // The adapter moved away from its init (iA3 starts at 0, LoKr's w2 at 0).
        const moved = [...f.entries()].some(
          ([k, t]) => (k.endsWith('.weight') || k.endsWith('lokr_w2')) && t.to('float32').abs().max().item() > 0,
        );
        assert.ok(moved, 'training changed the adapter');
      } finally {
        f.dispose();
      }
      const { scalars, images, fileVersion } = readScalars(r.logDir);
      assert.deepEqual(fileVersion, ['brain.Event:2']);
      const tags = new Set(scalars.map((s) => s.tag));
      for (const t of ['loss/current', 'loss/average', 'lr/unet', 'lr/textencoder', 'lr/d*lr', 'lr/d*lr/unet', 'loss/epoch']) {
        assert.ok(tags.has(t), `tag ${t} logged`);
      }
      const steps = scalars.filter((s) => s.tag === 'loss/current').map((s) => s.step);
      assert.deepEqual(
        steps,
        Array.from({ length: 12 }, (_, i) => i + 1),
      );
      assert.ok(scalars.filter((s) => s.tag === 'lr/d*lr').every((s) => Number.isFinite(s.value) && s.value >= 0));
      if (preset === 'lokr') assert.ok(tags.has('max_norm/keys_scaled'), 'scale_weight_norms acts for LoKr');
      else assert.ok(!tags.has('max_norm/keys_scaled'), 'scale_weight_norms is inert for iA3');
      // Samples at epochs 2 and 4, on disk and in TensorBoard.
      assert.equal(r.samples.length, 2);
      for (const s of r.samples) assert.ok(existsSync(s), s);
      assert.ok(r.samples[0].endsWith(`tiny-${preset}_e000002_00.png`));
      assert.deepEqual(images, ['sample/0', 'sample/0']);
    } finally {
      ws.cleanup();
    }
  });
}
