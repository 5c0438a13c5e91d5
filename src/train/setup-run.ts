// Everything before the first step: config (file + command line), dataset and plan, seed,
// frozen models, network, optimizer and scheduler, latent cache, sampler, generators, writer.
import { mkdirSync } from 'node:fs';
import { AdapterNetwork } from '../adapters/network.ts';
import { formatDiagnostic, type LoadedConfig, loadConfig, type TrainConfig } from '../config/index.ts';
import { PyRandom } from '../data/py-random.ts';
import { generatorSource } from '../diffusion/noise.ts';
import { DlrSpikeDetector } from '../monitor/spike.ts';
import { SummaryWriter, sdScriptsLogDir } from '../monitor/tensorboard.ts';
import * as torch from '../torch/index.ts';
import type { RunMeta } from './checkpoint-state.ts';
import { nowDate, nowSeconds } from './clock.ts';
import { Interrupt } from './faults.ts';
import { LossRecorder } from './loss-recorder.ts';
import type { MetadataContext } from './metadata.ts';
import { networkConfigFromTrain } from './network-config.ts';
import { buildOptimizer, buildScheduler } from './optimizer-config.ts';
import type { TrainProgress } from './progress-bar.ts';
import type { Run, TrainOptions } from './run.ts';
import { makeSampleRunner } from './sampling.ts';
import { encodeLatents, loadRunDatasets, makeSampler, planRun } from './setup-data.ts';
import { loadRunModels } from './setup-models.ts';
import type { StepContext } from './step.ts';

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

function mixedPrecision(cfg: TrainConfig, log: (l: string) => void): 'bfloat16' | undefined {
  if (cfg.mixed_precision === 'bf16') return 'bfloat16';
  if (cfg.mixed_precision === 'fp16') {
    log('mixed_precision fp16: fp16 loss scaling needs CUDA; this run trains in float32 on the CPU (bf16 autocasts on the CPU)');
  }
  return undefined;
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

  const datasets = await loadRunDatasets(cfg, log);
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
  const autocast = mixedPrecision(cfg, log);
  const step: StepContext = {
    cfg,
    models,
    network,
    cache,
    noise: generatorSource({ generator: noiseGenerator, py: pyNoise }),
    trainTextEncoder: groups.some((g) => g.part === 'text_encoder'),
    autocast,
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
  run.sampleRunner = makeSampleRunner(run.cfg, models, outputDir, log, autocast);
  return run;
}
