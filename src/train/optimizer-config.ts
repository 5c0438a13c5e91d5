// --optimizer_type / --optimizer_args / --learning_rate (+ text_encoder_lr, unet_lr groups) and
// the lr scheduler, built the way sd-scripts' train_util.get_optimizer / get_scheduler_fix do.
import type { ParamGroup } from '../adapters/network.ts';
import type { TrainConfig } from '../config/index.ts';
import { AdamW, createScheduler, DAdaptAdam, Lion, type LRScheduler, type Optimizer, Prodigy } from '../optim/index.ts';
import type { GroupOptions } from '../optim/optimizer.ts';

export type AnyOptimizer = Optimizer<GroupOptions>;

/** snake_case optimizer_args (d_coef, use_bias_correction) → the optimizers' camelCase options. */
function camelArgs(args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) out[k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())] = v;
  return out;
}

/** The python class sd-scripts names in ss_optimizer. */
const PY_CLASS: Record<string, string> = {
  prodigy: 'prodigyopt.prodigy.Prodigy',
  dadaptadam: 'dadaptation.dadapt_adam.DAdaptAdam',
  adamw: 'torch.optim.adamw.AdamW',
  lion: 'lion_pytorch.lion_pytorch.Lion',
};

export interface BuiltOptimizer {
  optimizer: AnyOptimizer;
  /** One name per group, as sd-scripts logs them (textencoder, unet). */
  groupNames: string[];
  /** ss_optimizer: class plus "(key=value,...)" when optimizer_args are given. */
  description: string;
}

export function buildOptimizer(cfg: TrainConfig, groups: ParamGroup[]): BuiltOptimizer {
  if (groups.length === 0) throw new Error('the network has no trainable tensors (check network_module, network_args and the lrs)');
  const type = cfg.optimizer_type.toLowerCase();
  const opts = { lr: cfg.learning_rate, ...camelArgs(cfg.optimizer_args) };
  const input = groups.map((g) => ({ params: g.params, ...(g.lr !== undefined ? { lr: g.lr } : {}) }));
  let optimizer: AnyOptimizer;
  switch (type) {
    case 'prodigy':
      optimizer = new Prodigy(input, opts) as unknown as AnyOptimizer;
      break;
    case 'dadaptadam':
    case 'dadaptation':
      optimizer = new DAdaptAdam(input, opts) as unknown as AnyOptimizer;
      break;
    case 'adamw':
      optimizer = new AdamW(input, opts) as unknown as AnyOptimizer;
      break;
    case 'lion':
      optimizer = new Lion(input, opts) as unknown as AnyOptimizer;
      break;
    default:
      throw new Error(`optimizer_type: ${cfg.optimizer_type} is not available in lyco (available: Prodigy, DAdaptAdam, AdamW, Lion)`);
  }
  const argText = Object.entries(cfg.optimizer_args)
    .map(([k, v]) => `${k}=${typeof v === 'boolean' ? (v ? 'True' : 'False') : String(v)}`)
    .join(',');
  const cls = PY_CLASS[type === 'dadaptation' ? 'dadaptadam' : type];
  return {
    optimizer,
    groupNames: groups.map((g) => (g.part === 'unet' ? 'unet' : 'textencoder')),
    description: argText ? `${cls}(${argText})` : cls,
  };
}

/** The scheduler for a config whose max_train_steps / T_max the plan has already set. */
export function buildScheduler(cfg: TrainConfig, optimizer: AnyOptimizer): LRScheduler {
  return createScheduler(optimizer, {
    lrScheduler: cfg.lr_scheduler,
    lrSchedulerType: cfg.lr_scheduler_type || undefined,
    lrSchedulerArgs: cfg.lr_scheduler_args as Record<string, unknown>,
    lrWarmupSteps: cfg.lr_warmup_steps,
    lrSchedulerNumCycles: cfg.lr_scheduler_num_cycles,
    lrSchedulerPower: cfg.lr_scheduler_power,
    maxTrainSteps: cfg.max_train_steps,
  });
}
