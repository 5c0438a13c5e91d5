// The shapes of a training run: what `train()` takes and returns, and the live state the loop,
// the setup and the saves share.
import type { AdapterNetwork } from '../adapters/network.ts';
import type { LoadedConfig, TrainConfig } from '../config/index.ts';
import type { LoadedDataset } from '../data/load-dataset.ts';
import type { PyRandom } from '../data/py-random.ts';
import type { DlrSpikeDetector, Spike, SpikeOptions, SpikePolicy } from '../monitor/spike.ts';
import type { SummaryWriter } from '../monitor/tensorboard.ts';
import type { LRScheduler } from '../optim/index.ts';
import type * as torch from '../torch/index.ts';
import type { Tensor } from '../torch/index.ts';
import type { SaveKind } from './artifacts.ts';
import type { Progress, RunMeta } from './checkpoint-state.ts';
import type { BatchSource, LatentSource } from './dataset-group.ts';
import type { Interrupt } from './faults.ts';
import type { GradScaler, GradScalerOptions } from './grad-scaler.ts';
import type { LossRecorder } from './loss-recorder.ts';
import type { MetadataContext } from './metadata.ts';
import type { AnyOptimizer } from './optimizer-config.ts';
import type { TrainProgress } from './progress-bar.ts';
import type { SampleRunner } from './sampling.ts';
import type { PlannedRun } from './setup-data.ts';
import type { RunModels } from './setup-models.ts';
import type { StepContext } from './step.ts';

export interface TrainHooks {
  /** Called after every optimizer step (tests plant d*lr spikes here). */
  afterOptimizerStep?(step: number, optimizer: AnyOptimizer): void;
  /** Replaces a micro-batch's loss value before it is checked (tests plant NaN here). */
  lossValue?(step: number, loss: number): number;
  /** Called with the trained parameters before each optimizer step (tests plant non-finite gradients here). */
  beforeOptimizerStep?(step: number, params: readonly Tensor[]): void;
}

export interface TrainOptions {
  /** Config file (kohya_ss GUI JSON or sd-scripts TOML). */
  config: string;
  model?: string;
  data?: string;
  output?: string;
  outputName?: string;
  tokenizer?: string;
  /** A `-state` folder to continue from. */
  resume?: string;
  dlrSpike?: SpikePolicy;
  spikeOptions?: Partial<SpikeOptions>;
  applyAllKeys?: boolean;
  keepTMax?: boolean;
  /** Train on a dataset with duplicate images instead of refusing it. */
  allowDuplicates?: boolean;
  /** sd-scripts options that override the file (`--resolution 32,32`). */
  argv?: string[];
  /** Show the progress bar (default: when stderr is a TTY). */
  progress?: boolean;
  log?: (line: string) => void;
  hooks?: TrainHooks;
  /** Install SIGINT/SIGTERM handlers (the CLI does; library callers may not want them). */
  handleSignals?: boolean;
  /**
   * Dynamic loss scaling (GradScaler) whatever the precision and device: on with torch's defaults
   * (true) or these options, off (false). Default: on for fp16 on CUDA only. Tests run the CPU
   * loop with it.
   */
  lossScaling?: boolean | Partial<GradScalerOptions>;
}

export interface SaveRecord {
  kind: SaveKind;
  step: number;
  epoch: number;
  file: string;
  stateDir?: string;
}

export interface TrainResult {
  outputDir: string;
  logDir: string;
  globalStep: number;
  plannedSteps: number;
  saves: SaveRecord[];
  finalFile?: string;
  spikes: Spike[];
  /** Why the run ended before its planned steps. */
  stopped?: 'interrupt' | 'spike';
  /** The step to use as max_train_steps / T_max after a spike. */
  cutoff?: number;
  rolledBackTo?: number;
  samples: string[];
  /** Optimizer steps loss scaling skipped for a non-finite gradient (loss scaling only). */
  skippedSteps?: number;
}

export interface Run {
  opts: TrainOptions;
  loaded: LoadedConfig;
  cfg: TrainConfig;
  planned: PlannedRun;
  models: RunModels;
  network: AdapterNetwork;
  params: Tensor[];
  optimizer: AnyOptimizer;
  groupNames: string[];
  scheduler: LRScheduler;
  datasets: LoadedDataset[];
  cache: LatentSource;
  sampler: BatchSource;
  seed: number;
  /** Where the loop is: what a state saved now resumes from. */
  position: Progress;
  noiseGenerator: torch.Generator;
  pyNoise: PyRandom;
  step: StepContext;
  /** fp16 loss scaling (also in step.scaler). */
  scaler?: GradScaler;
  losses: LossRecorder;
  detector?: DlrSpikeDetector;
  writer: SummaryWriter;
  meta: RunMeta;
  metaCtx: MetadataContext;
  outputDir: string;
  result: TrainResult;
  progress: TrainProgress;
  interrupt: Interrupt;
  sampleRunner?: SampleRunner;
  lastSave?: string;
}
