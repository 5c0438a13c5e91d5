// One micro-batch of sd-scripts' loop (train_network.py process_batch): cached latents → text
// conditioning (SDXL: + pooled text_embeds and per-sample time_ids) → noise, timesteps and noisy
// latents → UNet with the network → weighted loss → backward of loss / gradient_accumulation_steps (through the checkpoint tape when gradient
// checkpointing is on). And the optimizer step that follows each accumulation.
import type { AdapterNetwork } from '../adapters/network.ts';
import type { TrainConfig } from '../config/index.ts';
import type { Batch } from '../data/epoch-batches.ts';
import { conditionalLoss, huberThreshold, postProcessLoss } from '../diffusion/loss-weights.ts';
import { getVelocity, type NoiseSource, noiseNoisyLatentsAndTimesteps } from '../diffusion/noise.ts';
import type { MaxTokenLength } from '../models/tokenizer/index.ts';
import { CheckpointTape } from '../nn/checkpoint.ts';
import type { LRScheduler } from '../optim/index.ts';
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import type { LatentSource } from './dataset-group.ts';
import { clipGradNorm } from './grad-clip.ts';
import type { GradScaler } from './grad-scaler.ts';
import type { AnyOptimizer } from './optimizer-config.ts';
import type { RunModels } from './setup-models.ts';
import { sizeConditioning } from './size-conditioning.ts';
import { encodeCaptions, timeIdsTensor, type UNetConditioning } from './text-conditioning.ts';
import type { TextEncoderCache } from './text-encoder-cache.ts';

export interface StepContext {
  cfg: TrainConfig;
  models: RunModels;
  network: AdapterNetwork;
  cache: LatentSource;
  noise: NoiseSource;
  /** Text encoder adapters are trained (a text_encoder group exists). */
  trainTextEncoder: boolean;
  /** 'bfloat16' (bf16), 'float16' (fp16 on CUDA); undefined: float32. */
  autocast?: 'bfloat16' | 'float16';
  /** The device autocast applies to (default the CPU). */
  autocastDevice?: 'cpu' | 'cuda';
  /** fp16 loss scaling: the loss is multiplied by its scale before backward. */
  scaler?: GradScaler;
  /** cache_text_encoder_outputs: the text conditioning of every caption, encoded before the first step. */
  textCache?: TextEncoderCache;
}

/** Runs `fn` under the context's autocast, if any. */
export function withAutocast<T>(ctx: Pick<StepContext, 'autocast' | 'autocastDevice'>, fn: () => T): T {
  return ctx.autocast ? torch.autocast(ctx.autocast, fn, ctx.autocastDevice ?? 'cpu') : fn();
}

/** What the denoising half of a step needs (the bench drives it with random text states). */
export type DenoiseContext = Pick<StepContext, 'cfg' | 'noise' | 'autocast' | 'autocastDevice' | 'scaler'> & {
  models: Pick<RunModels, 'unet' | 'schedule'>;
};

/**
 * Forward and backward of one micro-batch inside the caller's scope; returns the loss value
 * (before the division by gradient_accumulation_steps), which is NaN/inf when training diverged.
 */
export function microStep(ctx: StepContext, batch: Batch): number {
  const { cfg, models } = ctx;
  const latents = torch.stack(batch.items.map((it) => ctx.cache.get(it.entry, it.flipped))).mul(models.vae.scalingFactor);
  const captions = batch.items.map((it) => it.caption);
  const text = { clipSkip: cfg.clip_skip, maxTokenLength: cfg.max_token_length as MaxTokenLength | undefined };
  let cond: UNetConditioning;
  if (ctx.textCache) cond = ctx.textCache.lookup(captions);
  else {
    const encode = () => withAutocast(ctx, () => encodeCaptions(models, captions, text));
    cond = ctx.trainTextEncoder ? encode() : torch.noGrad(encode);
  }
  if (models.sdxl) cond.timeIds = timeIdsTensor(batch.items.map(sizeConditioning));
  return denoiseStep(
    ctx,
    latents,
    cond,
    batch.items.map((it) => it.lossWeight),
  );
}

/**
 * Noise, timesteps and noisy latents → UNet with the network → weighted loss → backward of
 * loss / gradient_accumulation_steps (× the loss scale with fp16 loss scaling, as accelerate's
 * backward). `latents` are already scaled by the VAE's factor.
 */
export function denoiseStep(ctx: DenoiseContext, latents: Tensor, cond: UNetConditioning, lossWeights: readonly number[]): number {
  const { cfg, models } = ctx;
  const tape = cfg.gradient_checkpointing ? new CheckpointTape() : undefined;
  try {
    const nb = noiseNoisyLatentsAndTimesteps(cfg, models.schedule.alphasCumprod, latents, ctx.noise);
    const forward = () => withAutocast(ctx, () => models.unet.forward(nb.noisyLatents, nb.timesteps, cond.hidden, cond));
    const pred = (tape ? tape.record(forward) : forward()).to('float32');
    const target = cfg.v_parameterization ? getVelocity(models.schedule.alphasCumprod, latents, nb.noise, nb.timesteps) : nb.noise;
    const huberC = huberThreshold({ loss_type: cfg.loss_type }, nb.timesteps, models.schedule.alphasCumprod);
    let perSample = conditionalLoss(pred, target.to('float32'), cfg.loss_type, 'none', huberC).mean([1, 2, 3]);
    if (lossWeights.some((w) => w !== 1)) perSample = perSample.mul(torch.tensor([...lossWeights]));
    perSample = postProcessLoss(perSample, nb.timesteps, models.schedule.allSnr, cfg);
    const loss = perSample.mean();
    const value = loss.item();
    if (!Number.isFinite(value)) return value;
    const divided = loss.div(cfg.gradient_accumulation_steps);
    const scaled = ctx.scaler ? ctx.scaler.scaleLoss(divided) : divided;
    if (tape) withAutocast(ctx, () => tape.backward(scaled));
    else scaled.backward();
    return value;
  } finally {
    tape?.dispose();
  }
}

export interface OptimizerStepResult {
  /** Total gradient norm before clipping (NaN: clipping off; inf: a gradient overflowed). */
  gradNorm: number;
  maxNorm?: { keysScaled: number; meanNorm: number; maxNorm: number };
  /** False when loss scaling found a non-finite gradient and skipped the optimizer and scheduler step. */
  stepped: boolean;
  /** The loss scale the step's gradients were computed with (loss scaling only). */
  lossScale?: number;
}

/**
 * After an accumulation: (loss scaling: unscale and check) clip, optimizer.step, scheduler.step
 * (once per optimizer step; neither when loss scaling skips the step, as accelerate), update the
 * scale, zero_grad, max-norm.
 */
export function optimizerStep(
  cfg: TrainConfig,
  network: AdapterNetwork,
  params: readonly Tensor[],
  optimizer: AnyOptimizer,
  scheduler: LRScheduler,
  scaler?: GradScaler,
): OptimizerStepResult {
  const lossScale = scaler?.scale;
  const overflow = scaler ? scaler.unscale(params) : false;
  const gradNorm = overflow ? Number.POSITIVE_INFINITY : cfg.max_grad_norm > 0 ? clipGradNorm(params, cfg.max_grad_norm) : Number.NaN;
  let stepped = true;
  if (scaler) {
    stepped = scaler.step(optimizer, params);
    scaler.update();
  } else optimizer.step();
  if (stepped) scheduler.step();
  optimizer.zeroGrad();
  const maxNorm =
    cfg.scale_weight_norms !== undefined
      ? torch.noGrad(() => torch.scope(() => network.applyMaxNormRegularization(cfg.scale_weight_norms as number)))
      : undefined;
  return { gradNorm, maxNorm, stepped, lossScale };
}
