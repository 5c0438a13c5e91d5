// lyco's optimizers and lr schedulers (exported from `lyco` as `optim`).
export { AdamW, type AdamWOptions } from './adamw.ts';
export { DAdaptAdam, type DAdaptAdamOptions } from './dadapt-adam.ts';
export { Lion, type LionOptions } from './lion.ts';
export {
  CosineAnnealingLR,
  type CosineAnnealingOptions,
  LambdaLR,
  LRScheduler,
  type SchedulerState,
  type SchedulerTarget,
} from './lr-scheduler.ts';
export {
  checkSharedLr,
  Optimizer,
  type OptimizerLogs,
  type OptimizerStateDict,
  type ParamGroup,
  type ParamGroupInput,
  type ParamState,
} from './optimizer.ts';
export { Prodigy, type ProdigyOptions } from './prodigy.ts';
export { createScheduler, parseKeyValueArgs, parseLiteral, type SdSchedulerOptions } from './scheduler-factory.ts';
export * as schedules from './schedules.ts';
