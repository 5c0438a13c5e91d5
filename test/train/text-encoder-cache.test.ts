// cache_text_encoder_outputs: every caption encoded once before the first step, then the steps
// read the cache. With fixed captions a cached run trains the same losses and adapter bytes as an
// uncached one, and the text encoders do not run during the steps (SD1 and SDXL, pooled output
// included). The text encoders are freed unless samples need them. Caption randomness (shuffle,
// dropout, tag dropout, token warmup) and trained text encoders are refused with one line.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { findPreset } from '../../src/config/index.ts';
import { CLIPTextTransformer } from '../../src/models/clip/index.ts';
import { train } from '../../src/train/trainer.ts';
import { tinyArgs, workspace } from './harness.ts';

process.env.SOURCE_DATE_EPOCH = '1700000000';

/** The guide preset without caption shuffling (the only caption randomness it has). */
function fixedCaptionPreset(preset: 'ia3' | 'lokr'): string {
  const text = findPreset(preset)?.text;
  if (!text?.includes('"shuffle_caption": true')) throw new Error(`the ${preset} preset no longer shuffles captions`);
  return text.replace('"shuffle_caption": true', '"shuffle_caption": false');
}

/** Counts text encoder forwards (CLIPTextTransformer.forward) while `fn` runs. */
async function countingTextForwards<T>(fn: (calls: () => number) => Promise<T>): Promise<T> {
  const proto = CLIPTextTransformer.prototype;
  const original = proto.forward;
  let n = 0;
  proto.forward = function (this: CLIPTextTransformer, ...args: Parameters<typeof original>) {
    n++;
    return original.apply(this, args);
  };
  try {
    return await fn(() => n);
  } finally {
    proto.forward = original;
  }
}

interface Observed {
  losses: number[];
  file: Buffer;
  /** Text encoder forwards before the first loss (setup) and during the steps. */
  setupCalls: number;
  stepCalls: number;
  lines: string[];
  samples: number;
}

async function observe(o: Parameters<typeof train>[0]): Promise<Observed> {
  return countingTextForwards(async (calls) => {
    const losses: number[] = [];
    let setupCalls = -1;
    const lines: string[] = [];
    const r = await train({
      ...o,
      log: (l) => lines.push(l),
      hooks: {
        lossValue: (_s, loss) => {
          if (setupCalls < 0) setupCalls = calls();
          losses.push(loss);
          return loss;
        },
      },
    });
    return {
      losses,
      file: readFileSync(r.finalFile as string),
      setupCalls,
      stepCalls: calls() - setupCalls,
      lines,
      samples: r.samples.length,
    };
  });
}

test('SD1: a cached run trains the same losses and adapter bytes, with no text encoder forward during the steps', async () => {
  const ws = await workspace('lokr', { images: 3, config: fixedCaptionPreset('lokr') });
  const argv = tinyArgs('--max_train_epochs', '2', '--network_train_unet_only');
  const base = { config: ws.config, model: ws.model, data: ws.data, argv, progress: false };
  try {
    const plain = await observe({ ...base, output: ws.out('plain') });
    assert.ok(plain.stepCalls > 0, 'without the cache the steps run the text encoder');
    const cached = await observe({ ...base, output: ws.out('cached'), argv: [...argv, '--cache_text_encoder_outputs'] });
    assert.equal(cached.losses.length, 6);
    assert.deepEqual(cached.losses, plain.losses);
    assert.ok(cached.file.equals(plain.file), 'adapter files differ');
    const distinct = new Set(['img0', 'img1', 'img2'].map((n) => readFileSync(join(ws.data, '1_subject', `${n}.caption`), 'utf8'))).size;
    // The first step's batch is read from the cache too: every forward happened in setup, one per caption.
    assert.equal(cached.setupCalls, distinct);
    assert.equal(cached.stepCalls, 0);
    assert.ok(
      cached.lines.includes(`cache_text_encoder_outputs: ${distinct} caption${distinct === 1 ? '' : 's'} encoded; text encoders freed`),
    );
  } finally {
    ws.cleanup();
  }
});

test('SDXL: cached hidden states and pooled text_embeds, batches of 3; text encoders kept for samples', async () => {
  const ws = await workspace('ia3', { images: 3, sdxl: true, config: fixedCaptionPreset('ia3') });
  const argv = tinyArgs(
    '--max_train_epochs',
    '2',
    '--network_train_unet_only',
    '--train_batch_size',
    '3',
    '--sample_every_n_epochs',
    '2',
    '--sample_prompts',
    ws.prompts,
  );
  const base = { config: ws.config, model: ws.model, data: ws.data, progress: false };
  try {
    const plain = await observe({ ...base, argv, output: ws.out('plain') });
    const cached = await observe({ ...base, argv: [...argv, '--cache_text_encoder_outputs'], output: ws.out('cached') });
    assert.equal(cached.losses.length, 2);
    for (const [i, l] of cached.losses.entries()) {
      assert.ok(Math.abs(l - plain.losses[i]) <= 1e-6 * Math.abs(plain.losses[i]), `loss ${i}: ${l} vs ${plain.losses[i]}`);
    }
    assert.equal(cached.samples, 1, 'sampling still has its text encoders');
    assert.ok(
      cached.lines.some((l) => /^cache_text_encoder_outputs: \d+ captions? encoded; text encoders kept \(sample prompts\)$/.test(l)),
    );
    // Only setup and the sample (prompt + negative prompt, two encoders each) ran the encoders.
    assert.equal(cached.stepCalls, 4);
  } finally {
    ws.cleanup();
  }
});

test('the cache is refused, in one line naming the key, with caption randomness or trained text encoders', async () => {
  const ws = await workspace('lokr', { images: 1 });
  const base = { config: ws.config, model: ws.model, data: ws.data, output: ws.out('o'), progress: false, log: () => {} };
  try {
    await assert.rejects(train({ ...base, argv: tinyArgs('--network_train_unet_only', '--cache_text_encoder_outputs') }), (e: Error) => {
      assert.equal(e.message.split('\n').length, 1);
      assert.match(e.message, /^error: .*config\.json: shuffle_caption: true cannot be used with cache_text_encoder_outputs: /);
      return true;
    });
    await assert.rejects(train({ ...base, argv: tinyArgs('--cache_text_encoder_outputs') }), (e: Error) => {
      assert.match(e.message, /^error: .*config\.json: network_train_unet_only: is off, so the text encoders are trained/);
      return true;
    });
    // A dataset_config's own subset options are checked when the datasets load.
    const toml = ws.out('datasets.toml');
    writeFileSync(
      toml,
      `[general]\nresolution = 32\n\n[[datasets]]\nbatch_size = 1\n  [[datasets.subsets]]\n  image_dir = '${join(ws.data, '1_subject')}'\n  caption_tag_dropout_rate = 0.1\n`,
    );
    await assert.rejects(
      train({
        ...base,
        config: (() => {
          const f = ws.out('fixed.json');
          writeFileSync(f, fixedCaptionPreset('lokr'));
          return f;
        })(),
        data: undefined,
        argv: tinyArgs('--network_train_unet_only', '--cache_text_encoder_outputs', '--dataset_config', toml),
      }),
      (e: Error) => {
        assert.equal(
          e.message,
          `${toml}: caption_tag_dropout_rate: 0.1 cannot be used with cache_text_encoder_outputs: the caption changes from fetch to fetch, so its encoding cannot be cached (turn one of them off)`,
        );
        return true;
      },
    );
  } finally {
    ws.cleanup();
  }
});
