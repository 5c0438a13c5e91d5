// `lyco train`: the loop that ties the layers together, in sd-scripts' order (spec §11):
// plan → frozen model + tokenizer → network → dataset + latent cache → per optimizer step:
// gradient-accumulation micro-batches, clip, optimizer and scheduler step, max-norm → logs,
// d*lr watch, saves, samples. Every step runs inside torch.scope; the loop yields to the event
// loop between optimizer steps so Ctrl-C and timers run. Setup is in setup-run.ts, saving and
// resuming in run-saves.ts.
import { decideSpike, type Spike } from '../monitor/spike.ts';
import { stepScalars } from '../monitor/tags.ts';
import * as torch from '../torch/index.ts';
import { type Progress, resolveResume } from './checkpoint-state.ts';
import { NonFiniteLossError, yieldToEventLoop } from './faults.ts';
import { TrainProgress } from './progress-bar.ts';
import type { Run, TrainOptions, TrainResult } from './run.ts';
import { applyCutoff, restore, save, wantState } from './run-saves.ts';
import { setup } from './setup-run.ts';
import { microStep, type OptimizerStepResult, optimizerStep } from './step.ts';

export type { SaveRecord, TrainHooks, TrainOptions, TrainResult } from './run.ts';

function logStep(run: Run, loss: number, epoch: number, r: OptimizerStepResult): void {
  const g = run.result.globalStep;
  const logs = run.optimizer.logs();
  const scalars = stepScalars({ lossCurrent: loss, lossAverage: run.losses.average, logs, groupNames: run.groupNames });
  // lyco: the loss scale this step's gradients were computed with (sd-scripts logs none).
  if (r.lossScale !== undefined) scalars['loss/scale'] = r.lossScale;
  const maxNorm = r.maxNorm;
  if (maxNorm) {
    scalars['max_norm/keys_scaled'] = maxNorm.keysScaled;
    scalars['max_norm/average_key_norm'] = maxNorm.meanNorm;
    scalars['max_norm/max_key_norm'] = maxNorm.maxNorm;
  }
  for (const [tag, v] of Object.entries(scalars)) run.writer.addScalar(tag, v, g);
  run.progress.update(g, { epoch, loss: run.losses.average, dLr: logs.dLr?.[0] });
}

type LoopEnd =
  | { kind: 'done' }
  | { kind: 'stop'; why: 'interrupt' | 'spike' }
  | { kind: 'rollback'; stateDir: string; cutoff: number; toStep: number };

/** What a spike means for this run (policy), with the message printed. */
function onSpike(run: Run, spike: Spike, progress: Progress): LoopEnd | undefined {
  const log = run.opts.log ?? ((l: string) => console.error(l));
  run.result.spikes.push(spike);
  const policy = run.opts.dlrSpike ?? 'warn';
  const decision = decideSpike(policy, spike, run.meta.savedSteps);
  log(`\nlyco: ${decision.message}`);
  run.result.cutoff = decision.cutoff;
  if (decision.action === 'warn') return undefined;
  if (decision.action === 'stop') {
    save(run, 'step', progress.globalStep, progress, true);
    return { kind: 'stop', why: 'spike' };
  }
  const rec = run.result.saves.find((s) => s.step === decision.toStep && s.stateDir);
  if (!rec?.stateDir) {
    save(run, 'step', progress.globalStep, progress, true);
    return { kind: 'stop', why: 'spike' };
  }
  return { kind: 'rollback', stateDir: rec.stateDir, cutoff: decision.cutoff, toStep: decision.toStep };
}

async function loop(run: Run, start: Progress): Promise<LoopEnd> {
  const cfg0 = run.cfg;
  const ga = cfg0.gradient_accumulation_steps;
  const length = run.sampler.length;
  const hooks = run.opts.hooks ?? {};
  for (let epoch = start.epoch; epoch <= run.planned.plan.epochs; epoch++) {
    const skip = epoch === start.epoch ? start.batchesDone : 0;
    let micro = 0;
    let finished = false;
    for (const batch of run.sampler.batches(epoch, { step: run.result.globalStep })) {
      if (micro < skip) {
        micro++;
        continue;
      }
      const nextStep = run.result.globalStep + 1;
      let loss = torch.scope(() => microStep(run.step, batch));
      if (hooks.lossValue) loss = hooks.lossValue(nextStep, loss);
      if (!Number.isFinite(loss)) {
        run.optimizer.zeroGrad();
        throw new NonFiniteLossError(nextStep, epoch, loss, run.lastSave);
      }
      run.losses.add(epoch - 1, micro, loss);
      micro++;
      if (micro % ga !== 0 && micro !== length) continue;

      hooks.beforeOptimizerStep?.(nextStep, run.params);
      const r = torch.scope(() => optimizerStep(run.cfg, run.network, run.params, run.optimizer, run.scheduler, run.scaler));
      // A step loss scaling skipped still counts (sd-scripts' global_step), as accelerate.
      if (run.scaler) run.result.skippedSteps = run.scaler.skippedSteps;
      run.result.globalStep = nextStep;
      hooks.afterOptimizerStep?.(nextStep, run.optimizer);
      logStep(run, loss, epoch, r);
      const progress: Progress = { epoch, batchesDone: micro, globalStep: nextStep };
      run.position = progress;

      if (run.detector) {
        const spike = run.detector.observeLogs(nextStep, run.optimizer.logs());
        if (spike) {
          const end = onSpike(run, spike, progress);
          if (end) return end;
        }
      }
      const c = run.cfg;
      if (c.sample_every_n_epochs === undefined && c.sample_every_n_steps && nextStep % c.sample_every_n_steps === 0) {
        await sampleNow(run, nextStep, epoch, false);
      }
      if (c.save_every_n_steps && nextStep % c.save_every_n_steps === 0) {
        save(run, 'step', nextStep, progress, wantState(run));
      }
      if (run.interrupt.requested) {
        save(run, 'step', nextStep, progress, true);
        return { kind: 'stop', why: 'interrupt' };
      }
      if (nextStep >= c.max_train_steps) {
        finished = true;
        break;
      }
      await yieldToEventLoop();
      if (run.interrupt.requested) {
        save(run, 'step', nextStep, progress, true);
        return { kind: 'stop', why: 'interrupt' };
      }
    }
    // Epoch end (sd-scripts: loss/epoch, epoch saves before the last epoch, epoch samples).
    run.writer.addScalar('loss/epoch', run.losses.average, epoch);
    const c = run.cfg;
    // Where a state saved now resumes: the next epoch, or inside this one when the run was cut short.
    const progress: Progress =
      finished && micro < length
        ? { epoch, batchesDone: micro, globalStep: run.result.globalStep }
        : { epoch: epoch + 1, batchesDone: 0, globalStep: run.result.globalStep };
    run.position = progress;
    if (c.save_every_n_epochs && epoch % c.save_every_n_epochs === 0 && epoch < run.planned.plan.epochs) {
      save(run, 'epoch', epoch, progress, wantState(run));
    }
    if (c.sample_every_n_epochs && epoch % c.sample_every_n_epochs === 0) await sampleNow(run, run.result.globalStep, epoch, true);
    if (finished) break;
  }
  return { kind: 'done' };
}

async function sampleNow(run: Run, step: number, epoch: number, byEpoch: boolean): Promise<void> {
  if (!run.sampleRunner) return;
  run.network.eval();
  try {
    const files = await run.sampleRunner(step, epoch, byEpoch, run.writer);
    run.result.samples.push(...files);
  } finally {
    run.network.train();
  }
}

function release(run: Run): void {
  run.progress?.stop();
  run.writer.close();
  run.interrupt.uninstall();
  run.optimizer.dispose();
  run.cache.dispose();
  run.step.textCache?.dispose();
  run.network.restore();
  run.network.dispose();
  run.models.dispose();
}

export async function train(opts: TrainOptions): Promise<TrainResult> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const run = await setup(opts);
  try {
    if (opts.handleSignals) run.interrupt.install();
    let start: Progress = { epoch: 1, batchesDone: 0, globalStep: 0 };
    if (opts.resume) {
      const dir = resolveResume(opts.resume);
      start = restore(run, dir);
      log(`resumed from ${dir}: step ${start.globalStep}, epoch ${start.epoch}`);
    }
    run.result.globalStep = start.globalStep;
    run.progress = new TrainProgress(run.cfg.max_train_steps, start.globalStep, opts.progress ?? process.stderr.isTTY === true);
    if (run.cfg.sample_at_first && start.globalStep === 0) await sampleNow(run, 0, 0, false);
    for (;;) {
      const end = await loop(run, start);
      if (end.kind === 'rollback') {
        start = restore(run, end.stateDir);
        applyCutoff(run, end.cutoff, start.globalStep);
        run.result.globalStep = start.globalStep;
        run.result.rolledBackTo = end.toStep;
        run.meta.savedSteps = run.meta.savedSteps.filter((s) => s <= end.toStep);
        log(`lyco: rolled back to step ${end.toStep}; training on to step ${end.cutoff} with max_train_steps = T_max = ${end.cutoff}`);
        continue;
      }
      if (end.kind === 'stop') {
        run.result.stopped = end.why;
        if (end.why === 'interrupt') {
          const last = run.result.saves[run.result.saves.length - 1];
          log(`lyco: interrupted at step ${run.result.globalStep}; saved ${last.file}; continue with --resume ${last.stateDir}`);
        }
        return run.result;
      }
      break;
    }
    const rec = save(run, 'final', 0, run.position, run.cfg.save_state || run.cfg.save_state_on_train_end);
    run.result.finalFile = rec.file;
    return run.result;
  } finally {
    release(run);
  }
}
