// `lyco demo`: the purple dataset and the size-adapted guide preset are written into the output
// folder, `lyco train` runs on the tiny model (Prodigy, progress bar, TensorBoard events), then
// the before/after grid, the d*lr/loss plot and the purple metric show what the adapter learned.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyAdapterFile } from '../models/pipeline-adapter.ts';
import { train } from '../train/trainer.ts';
import { type DemoPreset, demoConfig } from './config.ts';
import { writeDemoDataset } from './dataset.ts';
import { readScalars } from './events.ts';
import { GRID_PROMPTS, gridRows, writeBeforeAfter } from './grid.ts';
import { type PurpleScore, purpleFraction } from './metric.ts';
import { writePlot } from './plot.ts';
import { loadTiny } from './tiny.ts';

export const TINY_MODEL = fileURLToPath(new URL('../../models/tiny', import.meta.url));

export interface DemoOptions {
  preset: DemoPreset;
  out: string;
  images: number;
  repeats: number;
  epochs: number;
  batch: number;
  /** Metric seeds: each adds one sample per shape × background prompt (18). */
  metricSeeds: number;
  gridSeeds: number;
  /** DDIM steps for the grid and the metric. */
  sampleSteps: number;
  seed: number;
  progress?: boolean;
  log?: (line: string) => void;
}

/** The full demo: about 3 minutes of one CPU core. */
export const FULL: Omit<DemoOptions, 'preset' | 'out'> = {
  images: 48,
  repeats: 1,
  epochs: 100,
  batch: 8,
  metricSeeds: 4,
  gridSeeds: 6,
  sampleSteps: 20,
  seed: 0,
};

export interface DemoResult {
  dataset: string;
  config: string;
  adapter: string;
  logDir: string;
  grid: string;
  plot: string;
  steps: number;
  without: PurpleScore;
  with: PurpleScore;
  trainSeconds: number;
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const out = resolve(o.out);
  mkdirSync(out, { recursive: true });
  const ds = await writeDemoDataset(join(out, 'dataset'), { images: o.images, repeats: o.repeats, seed: o.seed });
  const config = join(out, `${o.preset}.json`);
  writeFileSync(config, demoConfig(o.preset, { epochs: o.epochs, batch: o.batch, cadence: 0 }));

  const t0 = performance.now();
  const r = await train({
    config,
    model: TINY_MODEL,
    data: ds.root,
    output: join(out, 'train'),
    outputName: `purple-${o.preset}`,
    progress: o.progress,
    log: o.log,
  });
  const trainSeconds = (performance.now() - t0) / 1000;
  if (!r.finalFile) throw new Error(`training stopped at step ${r.globalStep} (${r.stopped ?? 'no final adapter'})`);

  const gridSeeds = Array.from({ length: o.gridSeeds }, (_, i) => i);
  const metricSeeds = Array.from({ length: o.metricSeeds }, (_, i) => i);
  const base = loadTiny(TINY_MODEL);
  const before = gridRows(base, GRID_PROMPTS, gridSeeds, o.sampleSteps);
  const without = purpleFraction(base, metricSeeds, o.sampleSteps);
  // Merge the trained adapter into the same weights (W + ΔW), as a loader would.
  applyAdapterFile({ unet: base.unet, textEncoders: [base.textEncoder] }, r.finalFile, 1);
  const after = gridRows(base, GRID_PROMPTS, gridSeeds, o.sampleSteps);
  const withAdapter = purpleFraction(base, metricSeeds, o.sampleSteps);

  const grid = join(out, 'before-after.png');
  await writeBeforeAfter(grid, before, after);
  const series = readScalars(r.logDir);
  const plot = join(out, 'dlr-loss.png');
  await writePlot(plot, [
    { label: 'lr/d*lr', points: series.get('lr/d*lr') ?? [], rgb: [200, 60, 40] },
    { label: 'loss/average', points: series.get('loss/average') ?? [], rgb: [40, 90, 200] },
  ]);
  return {
    dataset: ds.folder,
    config,
    adapter: r.finalFile,
    logDir: r.logDir,
    grid,
    plot,
    steps: r.globalStep,
    without,
    with: withAdapter,
    trainSeconds,
  };
}
