// Text → image on a tiny random-init model saved as a diffusers folder: PNG size and content,
// seed reproducibility, adapter multipliers, SDXL conditioning, one-line errors.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { unetKey, unetLayout } from '../../src/models/convert/ldm-keys.ts';
import { convert } from '../../src/models/index.ts';
import { type GeneratedImage, StableDiffusionPipeline, savePng } from '../../src/models/pipeline.ts';
import { UNet2DConditionModel } from '../../src/models/unet/index.ts';
import { unetLdmKey } from '../../src/models/unet-ldm-names.ts';
import { withoutInit } from '../../src/nn/index.ts';
import { TINY_SD1_UNET, TINY_SDXL_UNET, tinyDiffusersModel, tinyLora } from './tiny-pipeline.ts';

const sd1 = tinyDiffusersModel('sd1');
const scratch = mkdtempSync(join(tmpdir(), 'lyco-pipe-'));
after(() => {
  for (const d of [sd1, scratch]) rmSync(d, { recursive: true, force: true });
});

const opts = { prompt: 'a red cat', negative: 'dog', steps: 3, cfg: 5, seed: 7, width: 64, height: 48 };
const same = (a: GeneratedImage, b: GeneratedImage) => Buffer.from(a.data).equals(Buffer.from(b.data));

function oneLine(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: Error) => {
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    return true;
  });
}

// Layers the LoRA patches: a U-Net cross-attention key projection and a text-encoder query.
const LORA = {
  lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_k: [48, 32],
  lora_te_text_model_encoder_layers_0_self_attn_q_proj: [32, 32],
} as Record<string, [number, number]>;

test('SD1 tiny model: PNG of the asked size, not constant; a fixed seed repeats, another differs', async () => {
  const pipe = StableDiffusionPipeline.load(sd1);
  try {
    assert.equal(pipe.family, 'sd1');
    for (const sampler of ['euler_a', 'ddim'] as const) {
      const a = pipe.generate({ ...opts, sampler });
      assert.equal(a.data.length, 64 * 48 * 3);
      const b = pipe.generate({ ...opts, sampler });
      assert.ok(same(a, b), `${sampler}: same seed, same pixels`);
      assert.ok(!same(a, pipe.generate({ ...opts, sampler, seed: 8 })), `${sampler}: another seed, other pixels`);
      assert.ok(!same(a, pipe.generate({ ...opts, sampler, prompt: 'a dog' })), `${sampler}: the prompt matters`);
      const distinct = new Set(a.data);
      assert.ok(distinct.size > 8, `${sampler}: ${distinct.size} distinct byte values`);
    }
    const img = pipe.generate(opts);
    const out = join(scratch, 'x.png');
    await savePng(out, img);
    const meta = await sharp(out).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height, meta.channels], ['png', 64, 48, 3]);
    const { data } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    assert.ok(data.equals(Buffer.from(img.data)), 'the PNG holds the generated pixels');
  } finally {
    pipe.dispose();
  }
});

test('adapter: multiplier 0 gives the image without it, multiplier 1 changes it', () => {
  const lora = join(scratch, 'lora.safetensors');
  tinyLora(lora, LORA);
  const images = [undefined, 0, 1].map((m) => {
    const pipe = StableDiffusionPipeline.load(sd1, m === undefined ? {} : { network: lora, multiplier: m });
    try {
      if (m !== undefined) assert.equal(pipe.adapter?.modules, 2);
      return pipe.generate(opts);
    } finally {
      pipe.dispose();
    }
  });
  assert.ok(same(images[0], images[1]), 'multiplier 0 = no adapter');
  assert.ok(!same(images[0], images[2]), 'multiplier 1 changes the image');
});

test('SDXL tiny model: two encoders, time ids and text_embeds; reproducible', () => {
  const root = tinyDiffusersModel('sdxl', { seed: 3 });
  try {
    const pipe = StableDiffusionPipeline.load(root);
    try {
      assert.equal(pipe.family, 'sdxl');
      const o = { ...opts, width: 32, height: 32, steps: 2 };
      const a = pipe.generate(o);
      assert.equal(a.data.length, 32 * 32 * 3);
      assert.ok(same(a, pipe.generate(o)));
      assert.ok(new Set(a.data).size > 8);
      assert.ok(!same(a, pipe.generate({ ...o, prompt: 'a dog' })), 'the prompt reaches the UNet');
      assert.ok(!same(a, pipe.generate({ ...o, negative: 'cat' })), 'so does the negative prompt');
      // kohya names SDXL U-Net modules after LDM paths (input_blocks.4.1 = down_blocks.1.attentions.0).
      const lora = join(scratch, 'sdxl-lora.safetensors');
      tinyLora(lora, {
        lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k: [48, 80],
        lora_te2_text_model_encoder_layers_0_self_attn_q_proj: [48, 48],
      });
      const withLora = StableDiffusionPipeline.load(root, { network: lora });
      try {
        assert.equal(withLora.adapter?.modules, 2);
        assert.ok(!same(a, withLora.generate(o)), 'the adapter changes the image');
      } finally {
        withLora.dispose();
      }
    } finally {
      pipe.dispose();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('one-line errors: size, adapter of the other family or shape, missing tokenizer', () => {
  const pipe = StableDiffusionPipeline.load(sd1);
  try {
    oneLine(() => pipe.generate({ ...opts, width: 60 }), /60x48: width and height must be positive multiples of 8/);
  } finally {
    pipe.dispose();
  }
  const xl = join(scratch, 'xl.safetensors');
  tinyLora(xl, { lora_te1_text_model_encoder_layers_0_self_attn_q_proj: [32, 32] });
  oneLine(() => StableDiffusionPipeline.load(sd1, { network: xl }), /adapter for SDXL .* on an SD1.x\/SD2.x model/);
  const wide = join(scratch, 'wide.safetensors');
  tinyLora(wide, { lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_k: [64, 64] });
  oneLine(() => StableDiffusionPipeline.load(sd1, { network: wide }), /wide.safetensors: does not fit this model/);
  const stray = join(scratch, 'stray.safetensors');
  tinyLora(stray, { lora_unet_down_blocks_7_attentions_0_proj_in: [32, 32] });
  oneLine(() => StableDiffusionPipeline.load(sd1, { network: stray }), /1 of 1 adapter modules match no layer/);
  const bare = tinyDiffusersModel('sd1', { tokenizer: false });
  try {
    const env = process.env;
    const saved = { HOME: env.HOME, HF_HOME: env.HF_HOME, HF_HUB_CACHE: env.HF_HUB_CACHE };
    Object.assign(env, { HOME: scratch, HF_HOME: scratch, HF_HUB_CACHE: join(scratch, 'hub') });
    try {
      oneLine(() => StableDiffusionPipeline.load(bare), /no CLIP tokenizer found.*--tokenizer DIR/);
    } finally {
      for (const [k, v] of Object.entries(saved)) v === undefined ? delete env[k] : (env[k] = v);
    }
    const pipe2 = StableDiffusionPipeline.load(bare, { tokenizer: join(sd1, 'tokenizer') });
    pipe2.dispose();
  } finally {
    rmSync(bare, { recursive: true, force: true });
  }
});

test('diffusers → LDM U-Net names invert unetKey (SD1.5, SDXL, tiny)', () => {
  const configs = [convert.unetConfig('sd1'), convert.unetConfig('sdxl'), TINY_SD1_UNET, TINY_SDXL_UNET];
  for (const c of configs) {
    const keys = [
      ...withoutInit(() => new UNet2DConditionModel(c), { device: 'meta' })
        .stateDict()
        .keys(),
    ];
    const layout = unetLayout(c);
    for (const k of keys) {
      const ldm = unetLdmKey(layout, k);
      assert.ok(ldm, `${k} has an LDM name`);
      assert.equal(unetKey(layout, ldm), k);
    }
  }
});
