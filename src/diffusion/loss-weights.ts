// Per-sample loss weights and element-wise losses of sd-scripts (custom_train_functions.py,
// train_util.py, train_network.py post_process_loss at HEAD 48d368fa): min-SNR gamma (epsilon
// and v-prediction), scale_v_pred_loss_like_noise_pred, v_pred_like_loss, debiased estimation,
// and the l2 / l1 / huber / smooth_l1 conditional loss with its huber_c schedules.
// They take the schedule as tensors (alphas_cumprod, or all_snr computed from it) so they do not
// depend on the scheduler class; op order follows upstream so float32 results agree.

import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';

/**
 * prepare_scheduler_for_custom_training: SNR_t = (sqrt(ᾱ_t) / sqrt(1 − ᾱ_t))², in ᾱ's dtype.
 * sd-scripts computes it once, before --zero_terminal_snr rescales the betas, and never again:
 * pass the unfixed alphas_cumprod to match it.
 */
export function allSnr(alphasCumprod: Tensor): Tensor {
  return torch.scope(() => {
    const alpha = alphasCumprod.sqrt();
    const sigma = alphasCumprod.neg().add(1).sqrt();
    return alpha.div(sigma).pow(2);
  });
}

/** all_snr[t] for each timestep (upstream stacks the lookups), on the timesteps' device. */
export function snrAt(snr: Tensor, timesteps: Tensor): Tensor {
  return snr.to(timesteps.device).indexSelect(0, timesteps);
}

/** SNR clamped at 1000: upstream's guard for t = 0, where SNR can be huge or infinite. */
function clampedSnr(snr: Tensor, timesteps: Tensor): Tensor {
  const s = snrAt(snr, timesteps);
  return s.minimum(torch.onesLike(s).mul(1000));
}

/**
 * apply_snr_weight (Min-SNR-γ): loss · min(SNR_t, γ)/SNR_t for epsilon prediction, and
 * loss · min(SNR_t, γ)/(SNR_t + 1) for v-prediction (sd-scripts ≥ Nov 2023).
 */
export function applySnrWeight(loss: Tensor, timesteps: Tensor, snr: Tensor, gamma: number, vPrediction = false): Tensor {
  return torch.scope(() => {
    const s = snrAt(snr, timesteps);
    const minSnrGamma = s.minimum(torch.fullLike(s, gamma));
    const weight = (vPrediction ? minSnrGamma.div(s.add(1)) : minSnrGamma.div(s)).float().to(loss.device);
    return loss.mul(weight);
  });
}

/** get_snr_scale: s/(s + 1) with s = min(SNR_t, 1000), i.e. ᾱ_t away from t = 0. */
export function getSnrScale(timesteps: Tensor, snr: Tensor): Tensor {
  return torch.scope(() => {
    const s = clampedSnr(snr, timesteps);
    return s.div(s.add(1));
  });
}

/** scale_v_pred_loss_like_noise_pred: loss · get_snr_scale (v-prediction only). */
export function scaleVPredictionLossLikeNoisePrediction(loss: Tensor, timesteps: Tensor, snr: Tensor): Tensor {
  return torch.scope(() => loss.mul(getSnrScale(timesteps, snr)));
}

/** v_pred_like_loss: loss + loss / get_snr_scale · λ (epsilon prediction only). */
export function addVPredictionLikeLoss(loss: Tensor, timesteps: Tensor, snr: Tensor, vPredLikeLoss: number): Tensor {
  return torch.scope(() => loss.add(loss.div(getSnrScale(timesteps, snr)).mul(vPredLikeLoss)));
}

/**
 * debiased_estimation_loss: loss / sqrt(s) (epsilon) or loss / (s + 1) (v-prediction, sd-scripts
 * ≥ Oct 2024), s = min(SNR_t, 1000). Upstream writes `1 / x`, which torch runs as reciprocal.
 */
export function applyDebiasedEstimation(loss: Tensor, timesteps: Tensor, snr: Tensor, vPrediction = false): Tensor {
  return torch.scope(() => {
    const s = clampedSnr(snr, timesteps);
    const weight = vPrediction ? s.add(1).reciprocal() : s.sqrt().reciprocal();
    return weight.mul(loss);
  });
}

/** The sd-scripts options post_process_loss reads. */
export interface LossWeightArgs {
  min_snr_gamma?: number | null;
  v_parameterization?: boolean;
  scale_v_pred_loss_like_noise_pred?: boolean;
  v_pred_like_loss?: number | null;
  debiased_estimation_loss?: boolean;
}

/**
 * train_network.py post_process_loss on the per-sample loss (B,): min-SNR, then the v-pred
 * scale, then v_pred_like_loss, then debiased estimation, each when its option is truthy.
 */
export function postProcessLoss(loss: Tensor, timesteps: Tensor, snr: Tensor, args: LossWeightArgs): Tensor {
  return torch.scope(() => {
    const v = args.v_parameterization ?? false;
    let out = loss;
    if (args.min_snr_gamma) out = applySnrWeight(out, timesteps, snr, args.min_snr_gamma, v);
    if (args.scale_v_pred_loss_like_noise_pred) out = scaleVPredictionLossLikeNoisePrediction(out, timesteps, snr);
    if (args.v_pred_like_loss) out = addVPredictionLikeLoss(out, timesteps, snr, args.v_pred_like_loss);
    if (args.debiased_estimation_loss) out = applyDebiasedEstimation(out, timesteps, snr, v);
    return out === loss ? loss.clone() : out;
  });
}

export type LossType = 'l2' | 'l1' | 'huber' | 'smooth_l1';
export type HuberSchedule = 'constant' | 'exponential' | 'snr';

export interface HuberArgs {
  loss_type: LossType;
  huber_schedule?: HuberSchedule;
  huber_c?: number;
  huber_scale?: number;
}

/**
 * get_huber_threshold_if_needed: the per-sample huber_c for loss_type huber / smooth_l1 (else
 * undefined). exponential: exp(−α·t)·huber_scale with α = −ln(huber_c)/T, so c falls from
 * huber_scale at t = 0 to huber_c·huber_scale at t = T; snr: (1 − huber_c)/(1 + σ_t)² + huber_c
 * with σ_t = sqrt((1 − ᾱ_t)/ᾱ_t) (huber_scale not applied, as upstream); constant:
 * huber_c·huber_scale. Defaults are sd-scripts': snr, 0.1, 1.0.
 */
export function huberThreshold(
  args: HuberArgs,
  timesteps: Tensor,
  alphasCumprod: Tensor,
  numTrainTimesteps = alphasCumprod.shape[0],
): Tensor | undefined {
  if (args.loss_type !== 'huber' && args.loss_type !== 'smooth_l1') return undefined;
  const schedule = args.huber_schedule ?? 'snr';
  const c = args.huber_c ?? 0.1;
  const scale = args.huber_scale ?? 1.0;
  return torch.scope(() => {
    switch (schedule) {
      case 'exponential': {
        const alpha = -Math.log(c) / numTrainTimesteps;
        // int64 timesteps times a Python float promote to float32, as in torch.
        return timesteps.mul(-alpha).exp().mul(scale);
      }
      case 'snr': {
        const ac = alphasCumprod.indexSelect(0, timesteps.cpu());
        const sigmas = ac.neg().add(1).div(ac).pow(0.5);
        // Upstream's `(1 - c) / x` runs as x.reciprocal() * (1 - c).
        return sigmas
          .add(1)
          .pow(2)
          .reciprocal()
          .mul(1 - c)
          .add(c)
          .to(timesteps.device);
      }
      case 'constant':
        return torch.full([timesteps.shape[0]], c * scale, { device: timesteps.device });
      default:
        throw new Error(`Unknown Huber loss schedule ${String(schedule)}`);
    }
  });
}

/**
 * conditional_loss: element-wise (reduction 'none') or reduced loss. huber is the pseudo-Huber
 * 2c(sqrt(d² + c²) − c) and smooth_l1 the same without the leading c, with huber_c per sample.
 */
export function conditionalLoss(
  pred: Tensor,
  target: Tensor,
  lossType: LossType,
  reduction: 'none' | 'mean' | 'sum',
  huberC?: Tensor,
): Tensor {
  if (lossType === 'l2') return torch.F.mseLoss(pred, target, reduction);
  if (lossType === 'l1') return torch.F.l1Loss(pred, target, reduction);
  if (lossType !== 'huber' && lossType !== 'smooth_l1') throw new Error(`Unsupported Loss Type: ${String(lossType)}`);
  if (!huberC) throw new Error(`conditional_loss: loss_type ${lossType} needs huber_c (huberThreshold)`);
  return torch.scope(() => {
    const c = huberC.reshape([-1, ...Array(pred.ndim - 1).fill(1)]);
    const root = pred.sub(target).pow(2).add(c.pow(2)).sqrt().sub(c);
    const loss = lossType === 'huber' ? c.mul(2).mul(root) : root.mul(2);
    if (reduction === 'mean') return loss.mean();
    if (reduction === 'sum') return loss.sum();
    return loss;
  });
}
