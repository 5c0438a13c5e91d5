// The scalar tags sd-scripts' train_network.py logs every micro-batch (generate_step_logs), so
// TensorBoard dashboards built for kohya runs read lyco's runs unchanged.
import type { OptimizerLogs } from '../optim/optimizer.ts';

export interface StepLogInput {
  /** This micro-batch's loss (before the division by gradient_accumulation_steps). */
  lossCurrent: number;
  /** The moving average sd-scripts shows (mean over the last epoch's worth of losses). */
  lossAverage: number;
  /** Optimizer logs after optimizer.step() and scheduler.step(). */
  logs: OptimizerLogs;
  /** One name per parameter group: sd-scripts' lr descriptions, e.g. ['textencoder', 'unet']. */
  groupNames: string[];
}

/**
 * `loss/current`, `loss/average`, `lr/<group>` and, for D-adapted optimizers, `lr/d*lr/<group>`
 * (sd-scripts ≥ 0.9) plus `lr/d*lr` = group 0 (the 2023 tag the guide's screenshots show).
 */
export function stepScalars(o: StepLogInput): Record<string, number> {
  if (o.groupNames.length !== o.logs.lr.length) {
    throw new Error(`stepScalars: ${o.groupNames.length} group names for ${o.logs.lr.length} parameter groups`);
  }
  const out: Record<string, number> = { 'loss/current': o.lossCurrent, 'loss/average': o.lossAverage };
  o.groupNames.forEach((name, i) => {
    out[`lr/${name}`] = o.logs.lr[i];
    if (o.logs.dLr) out[`lr/d*lr/${name}`] = o.logs.dLr[i];
  });
  if (o.logs.dLr) out['lr/d*lr'] = o.logs.dLr[0];
  return out;
}
