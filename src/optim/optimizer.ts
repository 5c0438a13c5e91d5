// The optimizer interface shared by Prodigy, DAdaptAdam, AdamW and Lion, shaped like torch.optim:
// parameter groups with their own options, per-parameter state, step(), zeroGrad(), and a
// state dict that can be saved and loaded to resume bit-exactly.
import { noGrad, ops, scope, type Tensor } from '../torch/index.ts';

/** Group options are numbers, booleans or number tuples (betas); `params` is added per group. */
export type GroupValue = number | boolean | number[] | null;
export type GroupOptions = { lr: number } & Record<string, GroupValue>;
export type ParamGroup<O extends GroupOptions> = O & { params: Tensor[] };
/** A group as a user writes it: params and any options to override. */
export type ParamGroupInput<O extends GroupOptions> = { params: Tensor[] } & Partial<O>;

export type ParamState = Record<string, Tensor | number>;

export interface OptimizerStateDict {
  /** Per parameter, by its index in the order of the groups' params (torch's numbering). */
  state: Record<number, ParamState>;
  /** Group options and group-level statistics (d, k, ...), params as indices. */
  paramGroups: (Record<string, GroupValue> & { params: number[] })[];
}

/** What a training loop logs after a step (sd-scripts: `lr/<group>`, `lr/d*lr/<group>`). */
export interface OptimizerLogs {
  lr: number[];
  /** D-adapted optimizers: the shared d. */
  d?: number;
  /** D-adapted optimizers: d·lr per group, what sd-scripts logs as `lr/d*lr`. */
  dLr?: number[];
}

export abstract class Optimizer<O extends GroupOptions> {
  readonly defaults: O;
  readonly paramGroups: ParamGroup<O>[];
  protected readonly state = new Map<Tensor, ParamState>();

  constructor(params: Tensor[] | ParamGroupInput<O>[], defaults: O) {
    this.defaults = defaults;
    const inputs: ParamGroupInput<O>[] =
      params.length > 0 && !isGroup(params[0]) ? [{ params: params as Tensor[] } as ParamGroupInput<O>] : (params as ParamGroupInput<O>[]);
    if (inputs.length === 0) throw new Error(`${this.constructor.name}: got an empty parameter list`);
    const seen = new Set<Tensor>();
    this.paramGroups = inputs.map((g, i) => {
      if (!Array.isArray(g.params)) throw new Error(`${this.constructor.name}: parameter group ${i} has no params array`);
      for (const p of g.params) {
        if (seen.has(p)) throw new Error(`${this.constructor.name}: a parameter appears in more than one group (group ${i})`);
        seen.add(p);
      }
      return { ...defaults, ...g, params: [...g.params] } as ParamGroup<O>;
    });
  }

  /** One update of every parameter that has a gradient; temporaries are freed before it returns. */
  step(): void {
    scope(() => noGrad(() => this.update()));
  }

  protected abstract update(): void;

  /** Drops the gradients (set_to_none, as sd-scripts calls it). */
  zeroGrad(): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) p.grad = undefined;
    }
  }

  logs(): OptimizerLogs {
    return { lr: this.paramGroups.map((g) => g.lr) };
  }

  /** References to the live state (like torch); loadStateDict copies what it is given. */
  stateDict(): OptimizerStateDict {
    const state: Record<number, ParamState> = {};
    const paramGroups: OptimizerStateDict['paramGroups'] = [];
    let index = 0;
    for (const g of this.paramGroups) {
      const { params, ...options } = g;
      const ids: number[] = [];
      for (const p of params) {
        const s = this.state.get(p);
        if (s) state[index] = this.exportState(s);
        ids.push(index++);
      }
      paramGroups.push({ ...cloneOptions(options as Record<string, GroupValue>), params: ids });
    }
    return { state, paramGroups };
  }

  loadStateDict(sd: OptimizerStateDict): void {
    const name = this.constructor.name;
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new Error(
        `${name}.loadStateDict: the state has ${sd.paramGroups.length} parameter groups, this optimizer ${this.paramGroups.length}`,
      );
    }
    sd.paramGroups.forEach((sg, i) => {
      if (sg.params.length !== this.paramGroups[i].params.length) {
        throw new Error(
          `${name}.loadStateDict: group ${i} has ${sg.params.length} params in the state, ${this.paramGroups[i].params.length} here`,
        );
      }
    });
    this.disposeState();
    sd.paramGroups.forEach((sg, i) => {
      const g = this.paramGroups[i];
      const { params: ids, ...options } = sg;
      Object.assign(g, cloneOptions(options));
      ids.forEach((id, j) => {
        const s = sd.state[id];
        if (!s) return;
        const p = g.params[j];
        for (const v of Object.values(s)) {
          if (typeof v !== 'number' && (v.dtype !== p.dtype || v.device !== p.device)) {
            throw new Error(`${name}.loadStateDict: state of param ${id} is ${v.dtype}@${v.device}, the param is ${p.dtype}@${p.device}`);
          }
        }
        this.state.set(p, this.importState(p, s));
      });
    });
  }

  /** Frees the state tensors (the optimizer is unusable for resuming afterwards). */
  dispose(): void {
    this.disposeState();
  }

  protected disposeState(): void {
    for (const s of this.state.values()) {
      for (const v of Object.values(s)) if (typeof v !== 'number') v.dispose();
    }
    this.state.clear();
  }

  /** Hooks for optimizers whose internal state layout differs from upstream's state dict. */
  protected exportState(s: ParamState): ParamState {
    return { ...s };
  }
  protected importState(_p: Tensor, s: ParamState): ParamState {
    const out: ParamState = {};
    for (const [k, v] of Object.entries(s)) out[k] = typeof v === 'number' ? v : v.clone().keep();
    return out;
  }

  /** Params of a group that have a gradient, with the gradient (handles freed with the step's scope). */
  protected withGrads(g: ParamGroup<O>): { params: Tensor[]; grads: Tensor[] } {
    const params: Tensor[] = [];
    const grads: Tensor[] = [];
    for (const p of g.params) {
      const gr = p.grad;
      if (gr === undefined) continue;
      params.push(p);
      grads.push(gr);
    }
    return { params, grads };
  }
}

function isGroup(x: unknown): boolean {
  return typeof x === 'object' && x !== null && 'params' in x && Array.isArray((x as { params: unknown }).params);
}

function cloneOptions(o: Record<string, GroupValue>): Record<string, GroupValue> {
  const out: Record<string, GroupValue> = {};
  for (const [k, v] of Object.entries(o)) out[k] = Array.isArray(v) ? [...v] : v;
  return out;
}

/** Checks shared by the optimizers; messages name the option as the user wrote it. */
export function checkRange(opt: string, value: number, ok: boolean, want: string): void {
  if (!ok || Number.isNaN(value)) throw new Error(`${opt} must be ${want}, got ${value}`);
}

/** Upstream rule for Prodigy/D-Adaptation: one d·lr for all groups, so group lrs are max or 0. */
export function checkSharedLr(optimizer: string, lrs: number[]): void {
  const max = Math.max(...lrs);
  const bad = lrs.filter((lr) => lr !== max && lr !== 0);
  if (bad.length > 0) {
    throw new Error(
      `${optimizer}: parameter groups have different non-zero lr (${lrs.join(', ')}); ${optimizer} shares one d·lr across groups, so every group lr must equal the largest (${max}) or be 0 — e.g. set unet_lr and text_encoder_lr equal`,
    );
  }
}

/** Coupled L2 decay (decouple = false): grad += weightDecay·p, in place on the gradient as upstream. */
export function addCoupledDecay(params: Tensor[], grads: Tensor[], weightDecay: number, foreach: boolean): void {
  if (foreach) ops._foreach_add__List(grads, params, weightDecay);
  else
    params.forEach((p, i) => {
      grads[i].add_(p, weightDecay);
    });
}
