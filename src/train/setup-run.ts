// Everything before the first step: config (file + command line), dataset and plan, seed,
// frozen models, network, optimizer and scheduler, latent cache, sampler, generators, writer.
import { mkdirSync } from 'node:fs';
import { AdapterNetwork } from '../adapters/network.ts';
import { formatDiagnostic, type LoadedConfig, loadConfig, type TrainConfig } from '../config/index.ts';
import type { LoadedDataset } from '../data/load-dataset.ts';
import { PyRandom } from '../data/py-random.ts';
import { generatorSource } from '../diffusion/noise.ts';
import type { MaxTokenLength } from '../models/tokenizer/index.ts';
import { DlrSpikeDetector } from '../monitor/spike.ts';
import { SummaryWriter, sdScriptsLogDir } from '../monitor/tensorboard.ts';
import * as torch from '../torch/index.ts';
import type { RunMeta } from './checkpoint-state.ts';
import { nowDate, nowSeconds } from './clock.ts';
import { Interrupt } from './faults.ts';
import { GradScaler } from './grad-scaler.ts';
import { LossRecorder } from './loss-recorder.ts';
import type { MetadataContext } from './metadata.ts';
import { networkConfigFromTrain } from './network-config.ts';
import { buildOptimizer, buildScheduler } from './optimizer-config.ts';
import type { TrainProgress } from './progress-bar.ts';
import type { Run, TrainOptions } from './run.ts';
import { makeSampleRunner } from './sampling.ts';
import { encodeLatents, loadRunDatasets, makeSampler, planRun } from './setup-data.ts';
import { loadRunModels, type RunModels } from './setup-models.ts';
import { type StepContext, withAutocast } from './step.ts';
import { assertTextCacheable, fixedCaptions, TextEncoderCache } from './text-encoder-cache.ts';

function resolveConfig(opts: TrainOptions): LoadedConfig {
  const argv = [...(opts.argv ?? [])];
  const set = (k: string, v: string | undefined) => {
    if (v !== undefined) argv.push(`--${k}`, v);
  };
  set('pretrained_model_name_or_path', opts.model);
  set('train_data_dir', opts.data);
  set('output_dir', opts.output);
  set('output_name', opts.outputName);
  return loadConfig(opts.config, { applyAllKeys: opts.applyAllKeys, argv });
}

export interface PrecisionPlan {
  autocast?: 'bfloat16' | 'float16';
  device: 'cpu' | 'cuda';
  /** fp16 on CUDA: dynamic loss scaling (GradScaler), as accelerate does. */
  lossScaling: boolean;
  message?: string;
}

/**
 * What mixed_precision means on the device the run trains on: bf16 autocasts; fp16 autocasts to
 * float16 with loss scaling on CUDA, and on the CPU computes in float32 (frozen weights are stored
 * in fp16 by the model loader), where no loss scaling is needed.
 */
export function precisionPlan(mixedPrecision: TrainConfig['mixed_precision'], device: 'cpu' | 'cuda'): PrecisionPlan {
  if (mixedPrecision === 'bf16') return { autocast: 'bfloat16', device, lossScaling: false };
  if (mixedPrecision === 'fp16') {
    if (device === 'cuda') return { autocast: 'float16', device, lossScaling: true };
    return {
      device,
      lossScaling: false,
      message: 'mixed_precision fp16 on the CPU: frozen weights stored in fp16, computed in float32 (no loss scaling needed)',
    };
  }
  return { device, lossScaling: false };
}

/** Where the frozen UNet lives: the device the steps run on. */
function trainingDevice(models: RunModels): 'cpu' | 'cuda' {
  for (const [, p] of models.unet.namedParameters()) return p.device.startsWith('cuda') ? 'cuda' : 'cpu';
  return 'cpu';
}

/**
 * cache_text_encoder_outputs: encodes every caption once, and frees
 * the text encoders when nothing else needs them (no sample prompts; no wildcards that could make
 * a caption the cache has not seen).
 */
function buildTextCache(
  cfg: TrainConfig,
  models: RunModels,
  datasets: LoadedDataset[],
  step: StepContext,
  keepEncoders: boolean,
  log: (l: string) => void,
): TextEncoderCache {
  const cache = new TextEncoderCache(models, {
    clipSkip: cfg.clip_skip,
    maxTokenLength: cfg.max_token_length as MaxTokenLength | undefined,
    autocast: (fn) => withAutocast(step, fn),
  });
  cache.fill(fixedCaptions(datasets));
  const wildcards = datasets.some((ds) => ds.images.some((e) => e.subset.enable_wildcard));
  const free = !keepEncoders && !wildcards;
  if (free) for (const te of models.textEncoders) te.dispose();
  log(
    `cache_text_encoder_outputs: ${cache.size} caption${cache.size === 1 ? '' : 's'} encoded; ` +
      (free ? 'text encoders freed' : `text encoders kept (${keepEncoders ? 'sample prompts' : 'wildcard captions'})`),
  );
  return cache;
}

export async function setup(opts: TrainOptions): Promise<Run> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const loaded = resolveConfig(opts);
  for (const d of loaded.diagnostics) log(formatDiagnostic(d));
  let cfg = loaded.config;
  const modelPath = cfg.pretrained_model_name_or_path;
  if (!modelPath) throw new Error('no base model: pass --model PATH or set pretrained_model_name_or_path');
  if (!cfg.output_dir) throw new Error('no output folder: pass --output DIR or set output_dir');
  const outputDir = cfg.output_dir;
  mkdirSync(outputDir, { recursive: true });

  const datasets = await loadRunDatasets(cfg, log, { allowDuplicates: opts.allowDuplicates });
  if (cfg.cache_text_encoder_outputs) assertTextCacheable(cfg, !cfg.network_train_unet_only, datasets);
  const planned = planRun(loaded, cfg, datasets, opts.keepTMax);
  if (planned.tMaxMessage) log(planned.tMaxMessage);
  for (const n of planned.plan.notes) log(`note: ${n}`);
  cfg = planned.config;
  const plan = planned.plan;
  log(
    `plan: ${plan.imagesWithRepeats} images × repeats, ${plan.stepsPerEpoch} steps per epoch, ${plan.totalSteps} steps in ${plan.epochs} epochs`,
  );

  // sd-scripts: seed everything first; the adapter init draws from torch's default generator.
  const seed = cfg.seed ?? new PyRandom(Date.now()).randint(0, 2 ** 31);
  torch.manualSeed(seed);
  const models = loadRunModels(cfg, { model: modelPath, tokenizer: opts.tokenizer });
  for (const m of models.messages) log(m);
  const asWritten = loaded.mode === 'all';
  const netConfig = networkConfigFromTrain(cfg, asWritten);
  const network = new AdapterNetwork(
    netConfig,
    {
      unet: cfg.network_train_text_encoder_only ? undefined : models.unet,
      textEncoders: cfg.network_train_unet_only ? undefined : models.textEncoders,
    },
    (m) => log(`lyco: ${m}`),
  ).apply();
  network.train();
  models.unet.gradientCheckpointing = cfg.gradient_checkpointing;
  const groups = network.paramGroups({ unetLr: cfg.unet_lr ?? cfg.learning_rate, textEncoderLr: cfg.text_encoder_lr ?? cfg.learning_rate });
  const params = groups.flatMap((g) => g.params);
  for (const p of params) p.requiresGrad = true;
  const built = buildOptimizer(cfg, groups);
  const scheduler = buildScheduler(cfg, built.optimizer);
  log(`network: ${netConfig.networkModule} ${netConfig.algo}, ${network.adapters.length} modules, ${network.trainedValues()} values`);

  const cache = await encodeLatents(datasets, models.vae, cfg, seed);
  const sampler = makeSampler(datasets, cfg, seed);
  const noiseGenerator = new torch.Generator({ seed });
  const pyNoise = new PyRandom(seed);
  const precision = precisionPlan(cfg.mixed_precision, trainingDevice(models));
  if (precision.message) log(precision.message);
  const autocast = precision.autocast;
  const scalerOptions = opts.lossScaling ?? precision.lossScaling;
  const scaler = scalerOptions ? new GradScaler(scalerOptions === true ? {} : scalerOptions) : undefined;
  const step: StepContext = {
    cfg,
    models,
    network,
    cache,
    noise: generatorSource({ generator: noiseGenerator, py: pyNoise }),
    trainTextEncoder: groups.some((g) => g.part === 'text_encoder'),
    autocast,
    autocastDevice: precision.device,
    scaler,
  };
  const meta: RunMeta = { sessionId: new PyRandom(seed).randint(0, 2 ** 31), trainingStartedAt: nowSeconds(), savedSteps: [] };
  const policy = opts.dlrSpike;
  const detector = built.optimizer.logs().dLr ? new DlrSpikeDetector(opts.spikeOptions) : undefined;
  if (policy && !detector) log(`--dlr-spike ${policy}: ${cfg.optimizer_type} has no d*lr; nothing to watch`);

  const logDir = sdScriptsLogDir(cfg.logging_dir ?? `${outputDir}/logs`, cfg.log_prefix ?? '', 'network_train', nowDate());
  const writer = new SummaryWriter(logDir, { flushSecs: 10 });
  const metaCtx: MetadataContext = {
    passed: loaded.passed,
    cfg,
    network: netConfig,
    plan,
    datasets,
    modelPath,
    baseModel: models.baseModel,
    optimizerDescription: built.description,
    sessionId: meta.sessionId,
    trainingStartedAt: meta.trainingStartedAt,
    mixedPrecision: cfg.mixed_precision,
  };
  const run: Run = {
    opts,
    loaded,
    cfg,
    planned,
    models,
    network,
    params,
    optimizer: built.optimizer,
    groupNames: built.groupNames,
    scheduler,
    datasets,
    cache,
    sampler,
    seed,
    position: { epoch: 1, batchesDone: 0, globalStep: 0 },
    noiseGenerator,
    pyNoise,
    step,
    scaler,
    losses: new LossRecorder(),
    detector,
    writer,
    meta,
    metaCtx,
    outputDir,
    result: { outputDir, logDir, globalStep: 0, plannedSteps: plan.totalSteps, saves: [], spikes: [], samples: [] },
    progress: undefined as unknown as TrainProgress,
    interrupt: new Interrupt(),
  };
  run.sampleRunner = makeSampleRunner(run.cfg, models, outputDir, log, { autocast, autocastDevice: precision.device });
  if (cfg.cache_text_encoder_outputs) step.textCache = buildTextCache(cfg, models, datasets, step, run.sampleRunner !== undefined, log);
  return run;
}
