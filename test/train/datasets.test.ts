// A dataset_config with two [[datasets]]: the run trains over their union, each dataset batching
// with its own batch_size; every epoch yields each dataset's batches once, interleaved in an
// order drawn from (seed, epoch); an interrupted and resumed run ends byte-identical.
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TrainConfig } from '../../src/config/index.ts';
import { loadDatasetConfig } from '../../src/data/dataset-config.ts';
import { loadDataset } from '../../src/data/load-dataset.ts';
import * as torch from '../../src/torch/index.ts';
import { makeSampler } from '../../src/train/setup-data.ts';
import { train } from '../../src/train/trainer.ts';
import { writeTinyDataset } from './fixtures.ts';
import { tinyArgs, type Workspace, workspace } from './harness.ts';

process.env.SOURCE_DATE_EPOCH = '1700000000';

/** Dataset 1: 3 images × 1, batch 1 (3 batches); dataset 2: 4 images × 2, batch 2 (4 batches). */
async function twoDatasets(ws: Workspace): Promise<string> {
  const second = await writeTinyDataset(ws.out('data2'), { n: 4, repeats: 2, seed: 7 });
  const file = ws.out('datasets.toml');
  writeFileSync(
    file,
    `[general]
resolution = 32
enable_bucket = true
min_bucket_reso = 32
max_bucket_reso = 64
bucket_reso_steps = 32

[[datasets]]
batch_size = 1
  [[datasets.subsets]]
  image_dir = '${join(ws.data, '1_subject')}'
  num_repeats = 1

[[datasets]]
batch_size = 2
  [[datasets.subsets]]
  image_dir = '${join(second, '2_subject')}'
  num_repeats = 2
`,
  );
  return file;
}

test('two datasets: the union, each with its own batch size, interleaved per epoch', async () => {
  const ws = await workspace('ia3', { images: 3 });
  try {
    const file = await twoDatasets(ws);
    const datasets = [];
    for (const bp of loadDatasetConfig(file, { caption_extension: '.caption' })) datasets.push(await loadDataset(bp, { progress: false }));
    const sampler = makeSampler(datasets, { prior_loss_weight: 1 } as TrainConfig, 31337);
    assert.equal(sampler.length, 7);
    const sizes = (epoch: number) => [...sampler.batches(epoch)].map((b) => b.items.length);
    const e1 = sizes(1);
    const e2 = sizes(2);
    for (const e of [e1, e2]) assert.deepEqual([...e].sort(), [1, 1, 1, 2, 2, 2, 2], 'every batch of both datasets once');
    assert.notDeepEqual(e1, e2, 'the interleaving changes with the epoch');
    const again = makeSampler(datasets, { prior_loss_weight: 1 } as TrainConfig, 31337);
    assert.deepEqual(
      [...again.batches(1)].map((b) => b.items.length),
      e1,
      'and is a function of (seed, epoch)',
    );
  } finally {
    ws.cleanup();
  }
});

test('two datasets: lyco train plans and trains the union; interrupt + --resume is byte-identical', async () => {
  const ws = await workspace('lokr', { images: 3 });
  try {
    const argv = tinyArgs('--dataset_config', await twoDatasets(ws), '--max_train_epochs', '2');
    const base = { config: ws.config, model: ws.model, argv, progress: false, log: () => {} };
    const ref = await train({ ...base, output: ws.out('ref') });
    // 3 + 4 batches per epoch, two epochs.
    assert.equal(ref.plannedSteps, 14);
    assert.equal(ref.globalStep, 14);
    const f = torch.safetensors.load(ref.finalFile as string);
    try {
      assert.equal(f.metadata.ss_num_train_images, '11');
      assert.equal(
        f.metadata.ss_dataset_dirs,
        '{"1_subject": {"n_repeats": 1, "img_count": 3}, "2_subject": {"n_repeats": 2, "img_count": 4}}',
      );
    } finally {
      f.dispose();
    }

    const cut = await train({
      ...base,
      output: ws.out('cut'),
      handleSignals: true,
      hooks: { afterOptimizerStep: (step) => step === 9 && process.emit('SIGINT', 'SIGINT') },
    });
    assert.equal(cut.stopped, 'interrupt');
    const resumed = await train({ ...base, output: ws.out('cut'), resume: ws.out('cut') });
    assert.equal(resumed.globalStep, 14);
    assert.ok(readFileSync(ref.finalFile as string).equals(readFileSync(resumed.finalFile as string)), 'final adapters differ');
  } finally {
    ws.cleanup();
  }
});

test('a duplicate image stops lyco train with the way out named; --allow-duplicates trains anyway', async () => {
  const ws = await workspace('ia3', { images: 3 });
  try {
    const folder = join(ws.data, readdirSync(ws.data)[0]);
    const first = readdirSync(folder).find((n) => n.endsWith('.png')) as string;
    copyFileSync(join(folder, first), join(folder, `copy-${first}`));
    const run = (allowDuplicates?: boolean) =>
      train({
        config: ws.config,
        model: ws.model,
        data: ws.data,
        output: ws.out('out'),
        argv: tinyArgs('--max_train_epochs', '1'),
        progress: false,
        log: () => {},
        allowDuplicates,
      });
    await assert.rejects(run(), /copy-[\s\S]*--allow-duplicates/);
    const r = await run(true);
    assert.equal(r.globalStep, 4); // one epoch of the 3 images and the copy, batch 1
  } finally {
    ws.cleanup();
  }
});
