// Plan arithmetic against sd-scripts (kohya-ss/sd-scripts @ 48d368fa; the numbers below are worked
// out by hand from these lines, not produced by running it):
//   library/train_util.py:1077-1084  BaseDataset.make_buckets: per bucket ceil(len(bucket)/batch_size) batches,
//                                    len(dataset) = their total (= len(train_dataloader), batch_size=1 loader)
//   train_network.py:799-801         max_train_epochs overrides: max_train_steps = epochs * ceil(len(loader)/procs/GA)
//   train_network.py:978-979         num_update_steps_per_epoch = ceil(len(loader)/GA); num_train_epochs = ceil(max_train_steps/that)
//   train_network.py:1486-1506,1605  global_step += 1 on sync steps; step saves when global_step % n == 0; stop at max_train_steps
//   train_network.py:1693-1694       epoch save when (epoch+1) % n == 0 and epoch+1 < num_train_epochs
//   library/train_util.py:6383-6391  sample_images_common: epochs win; steps only when sample_every_n_epochs is None
//   library/train_util.py:5274       scheduler steps = max_train_steps * num_processes
//   accelerate _do_sync (spec-training.md §5.2): the last partial accumulation of an epoch still steps
// kohya_ss v21.8.10 lora_gui.py:664-676: GUI estimate ceil(total/batch/GA*epoch*reg_factor); :688 warmup round(pct*steps/100)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PRESETS, parseConfig } from '../../src/config/index.ts';
import { applyPlan, planInputFromConfig, planTraining } from '../../src/train/plan.ts';

// spec-training.md §5.1 worked example: folder 10_x, 15 images in buckets of 7, 5 and 3 images.
const threeBuckets = [{ bucketCounts: [70, 50, 30] }];

test('repeats and buckets: batches are formed per bucket (18 + 13 + 8 = 39)', () => {
  const p = planTraining({ datasets: threeBuckets, trainBatchSize: 4, gradientAccumulationSteps: 1, maxTrainEpochs: 10 });
  assert.equal(p.imagesWithRepeats, 150);
  assert.equal(p.batchesPerEpoch, 39); // ceil(70/4)+ceil(50/4)+ceil(30/4) = 18+13+8
  assert.equal(p.stepsPerEpoch, 39);
  assert.equal(p.totalSteps, 390); // 10 * ceil(39/1/1)
  assert.equal(p.epochs, 10);
  assert.equal(p.tMax, 390);
  // one bucket of the same 150 images: ceil(150/4) = 38 batches, fewer than with three buckets
  const one = planTraining({ datasets: [{ bucketCounts: [150] }], trainBatchSize: 4, gradientAccumulationSteps: 1, maxTrainEpochs: 10 });
  assert.equal(one.stepsPerEpoch, 38);
  assert.equal(one.totalSteps, 380);
});

test('gradient accumulation: optimizer steps per epoch are ceil(batches/GA)', () => {
  const p = planTraining({ datasets: threeBuckets, trainBatchSize: 4, gradientAccumulationSteps: 4, maxTrainEpochs: 10 });
  assert.equal(p.batchesPerEpoch, 39);
  assert.equal(p.stepsPerEpoch, 10); // ceil(39/4): the 3 left-over batches make a 10th step
  assert.equal(p.totalSteps, 100); // 10 * ceil(39/4)
  assert.equal(p.epochs, 10);
  assert.equal(p.tMax, 100);
});

test('max_train_steps alone: epochs = ceil(steps / steps per epoch), the last one cut short', () => {
  const p = planTraining({ datasets: threeBuckets, trainBatchSize: 4, gradientAccumulationSteps: 1, maxTrainSteps: 1000 });
  assert.equal(p.stepsSource, 'max_train_steps');
  assert.equal(p.epochs, 26); // ceil(1000/39)
  assert.equal(p.lastEpochSteps, 25); // 1000 - 25*39
  assert.equal(p.finalSave.step, 1000);
});

test('max_train_epochs overrides max_train_steps', () => {
  const p = planTraining({
    datasets: threeBuckets,
    trainBatchSize: 4,
    gradientAccumulationSteps: 1,
    maxTrainSteps: 1000,
    maxTrainEpochs: 3,
  });
  assert.equal(p.stepsSource, 'max_train_epochs');
  assert.equal(p.totalSteps, 117); // 3 * 39
  assert.equal(p.epochs, 3);
});

test('nothing given: sd-scripts default max_train_steps 1600', () => {
  const p = planTraining({ datasets: [{ bucketCounts: [10] }], trainBatchSize: 1, gradientAccumulationSteps: 1 });
  assert.equal(p.totalSteps, 1600);
  assert.equal(p.epochs, 160);
});

test('kohya_ss GUI estimate from epoch ignores per-bucket rounding (375 steps, epoch 10 cut at 24)', () => {
  const p = planTraining({ datasets: threeBuckets, trainBatchSize: 4, gradientAccumulationSteps: 1, gui: { epoch: 10 } });
  assert.equal(p.guiEstimateSteps, 375); // ceil(150/4*10)
  assert.equal(p.totalSteps, 375);
  assert.equal(p.stepsSource, 'kohya_ss epoch estimate');
  assert.equal(p.epochs, 10); // ceil(375/39)
  assert.equal(p.lastEpochSteps, 24); // 375 - 9*39
  assert.equal(p.notes.length, 1);
  // reg folder doubles the estimate
  assert.equal(
    planTraining({
      datasets: threeBuckets,
      trainBatchSize: 4,
      gradientAccumulationSteps: 1,
      gui: { epoch: 10, regFactor: 2, imagesTimesRepeats: 150 },
    }).totalSteps,
    750,
  );
});

test('GUI warmup percent uses the GUI step count and Python rounding (half to even)', () => {
  // 25 steps * 10% = 2.5 -> round() = 2 (banker's rounding), not 3
  const p = planTraining({
    datasets: [{ bucketCounts: [25] }],
    trainBatchSize: 1,
    gradientAccumulationSteps: 1,
    gui: { epoch: 1, lrWarmupPercent: 10 },
  });
  assert.equal(p.lrWarmupSteps, 2);
  // 35 * 10% = 3.5 -> 4
  assert.equal(
    planTraining({
      datasets: [{ bucketCounts: [35] }],
      trainBatchSize: 1,
      gradientAccumulationSteps: 1,
      gui: { epoch: 1, lrWarmupPercent: 10 },
    }).lrWarmupSteps,
    4,
  );
  // sd-scripts: a float lr_warmup_steps is a ratio of the scheduler steps, truncated
  assert.equal(
    planTraining({
      datasets: [{ bucketCounts: [25] }],
      trainBatchSize: 1,
      gradientAccumulationSteps: 1,
      maxTrainSteps: 25,
      lrWarmupSteps: 0.1,
    }).lrWarmupSteps,
    2,
  );
});

test('several datasets, each with its own batch size, concatenate their batches', () => {
  const p = planTraining({
    datasets: [{ bucketCounts: [10, 3], batchSize: 2 }, { bucketCounts: [9] }],
    trainBatchSize: 4,
    gradientAccumulationSteps: 2,
    maxTrainEpochs: 2,
  });
  assert.equal(p.batchesPerEpoch, 5 + 2 + 3); // ceil(10/2)+ceil(3/2)+ceil(9/4)
  assert.equal(p.stepsPerEpoch, 5);
  assert.equal(p.totalSteps, 10);
});

test('two processes: steps use ceil(batches/P/GA); epochs use the per-process loader', () => {
  const p = planTraining({ datasets: threeBuckets, trainBatchSize: 4, gradientAccumulationSteps: 2, maxTrainEpochs: 10, numProcesses: 2 });
  assert.equal(p.totalSteps, 100); // 10 * ceil(39/2/2) = 10 * 10
  assert.equal(p.stepsPerEpoch, 10); // ceil(ceil(39/2)/2) = ceil(20/2)
  assert.equal(p.tMax, 200); // scheduler steps = max_train_steps * processes
});

test('save and sample points: last epoch has no epoch save; samples by epochs win over steps', () => {
  const p = planTraining({
    datasets: [{ bucketCounts: [15] }],
    trainBatchSize: 1,
    gradientAccumulationSteps: 1,
    maxTrainEpochs: 200,
    saveEveryNEpochs: 10,
    sampleEveryNEpochs: 10,
    sampleEveryNSteps: 7,
  });
  assert.equal(p.totalSteps, 3000);
  assert.equal(p.saves.length, 19); // epochs 10..190; 200 is the final save
  assert.deepEqual(p.saves[0], { epoch: 10, step: 150 });
  assert.deepEqual(p.saves.at(-1), { epoch: 190, step: 2850 });
  assert.equal(p.samples.length, 20); // 10..200, the last epoch included; sample_every_n_steps ignored
  assert.deepEqual(p.samples.at(-1), { epoch: 200, step: 3000 });
  assert.deepEqual(p.finalSave, { epoch: 200, step: 3000 });
});

test('step saves and step samples, with a run that stops inside an epoch', () => {
  const p = planTraining({
    datasets: [{ bucketCounts: [10] }],
    trainBatchSize: 1,
    gradientAccumulationSteps: 3,
    maxTrainSteps: 9,
    saveEveryNSteps: 4,
    sampleEveryNSteps: 3,
    saveEveryNEpochs: 1,
  });
  assert.equal(p.stepsPerEpoch, 4); // ceil(10/3)
  assert.equal(p.epochs, 3);
  assert.deepEqual(p.saves, [
    { epoch: 1, step: 4 },
    { epoch: 1, step: 4 }, // the epoch-end save of epoch 1 comes at the same step (two files: -step00000004 and -000001)
    { epoch: 2, step: 8 },
    { epoch: 2, step: 8 },
  ]);
  assert.deepEqual(
    p.samples.map((s) => s.step),
    [3, 6, 9],
  );
});

test('bad inputs are refused with the name of the value', () => {
  assert.throws(() => planTraining({ datasets: [{ bucketCounts: [] }], trainBatchSize: 1, gradientAccumulationSteps: 1 }), /no images/);
  assert.throws(() => planTraining({ datasets: threeBuckets, trainBatchSize: 0, gradientAccumulationSteps: 1 }), /train_batch_size/);
  assert.throws(
    () => planTraining({ datasets: threeBuckets, trainBatchSize: 1, gradientAccumulationSteps: 1, maxTrainEpochs: 0 }),
    /nothing to train/,
  );
});

test("the guide's iA3 preset on 15 images: 3000 steps, and T_max=200 is replaced by 3000", () => {
  const r = parseConfig(PRESETS[0].text, 'ia3.json');
  const input = planInputFromConfig(r.config, r.hints, [{ bucketCounts: [15] }]);
  const p = planTraining(input);
  assert.equal(p.stepsPerEpoch, 15);
  assert.equal(p.totalSteps, 3000);
  assert.equal(p.tMax, 3000);
  assert.match(p.notes.join('\n'), /T_max=200 .*3000 scheduler steps.*reaches 0 at step 200 and climbs back .* at 400 \(7\.50 periods\)/);
  const applied = applyPlan(r.config, p);
  assert.equal(applied.config.lr_scheduler_args.T_max, 3000);
  assert.equal(applied.config.max_train_steps, 3000);
  assert.match(applied.message ?? '', /T_max=200 replaced by 3000/);
  assert.equal(r.config.lr_scheduler_args.T_max, 200, 'the loaded config is not changed');
  const kept = applyPlan(r.config, p, { keepTMax: true });
  assert.equal(kept.config.lr_scheduler_args.T_max, 200);
  // T_max that already matches: nothing to say
  assert.equal(applyPlan(applied.config, p).message, undefined);
});

test('T_max absent with CosineAnnealingLR: set to the planned steps', () => {
  const r = parseConfig('lr_scheduler_type = "CosineAnnealingLR"\nmax_train_epochs = 2\nmax_grad_norm = 1.0\n', 'c.toml');
  const p = planTraining(planInputFromConfig(r.config, r.hints, [{ bucketCounts: [8] }]));
  const a = applyPlan(r.config, p);
  assert.equal(a.config.lr_scheduler_args.T_max, 16);
  assert.match(a.message ?? '', /T_max not given: set to 16/);
});
