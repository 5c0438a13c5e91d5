// Module tree: named parameters, buffers and submodules whose dotted paths are the state-dict
// names (diffusers' `down_blocks.0.attentions.0.proj_in.weight`), so adapter keys and checkpoint
// keys come out right without a translation table.

import type { DType, Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';

export interface LoadReport {
  missing: string[];
  unexpected: string[];
  /** Present in both with different shapes: `name: [file shape] vs [module shape]`. */
  mismatched: string[];
}

export abstract class Module {
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly buffers = new Map<string, Tensor>();
  private readonly modules = new Map<string, Module>();

  /** Registers a parameter (kept alive until dispose(); requires grad unless frozen later). */
  protected param(name: string, t: Tensor): Tensor {
    t.keep();
    if (!t.requiresGrad) t.requiresGrad = true;
    this.params.set(name, t);
    return t;
  }
  /** Registers a buffer: state-dict entry without gradient (e.g. position ids). */
  protected buffer(name: string, t: Tensor): Tensor {
    t.keep();
    this.buffers.set(name, t);
    return t;
  }
  /** Registers a submodule under the name that appears in state-dict paths. */
  protected module<M extends Module>(name: string, m: M): M {
    this.modules.set(name, m);
    return m;
  }

  /** The parameter or buffer registered on this module as `name`. */
  get(name: string): Tensor {
    const t = this.params.get(name) ?? this.buffers.get(name);
    if (!t) throw new Error(`${this.constructor.name} has no parameter or buffer '${name}'`);
    return t;
  }

  *namedChildren(): Generator<[string, Module]> {
    yield* this.modules.entries();
  }
  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [n, m] of this.modules) yield* m.namedModules(prefix ? `${prefix}.${n}` : n);
  }
  *namedParameters(prefix = ''): Generator<[string, Tensor]> {
    for (const [n, t] of this.params) yield [prefix ? `${prefix}.${n}` : n, t];
    for (const [n, m] of this.modules) yield* m.namedParameters(prefix ? `${prefix}.${n}` : n);
  }
  *namedBuffers(prefix = ''): Generator<[string, Tensor]> {
    for (const [n, t] of this.buffers) yield [prefix ? `${prefix}.${n}` : n, t];
    for (const [n, m] of this.modules) yield* m.namedBuffers(prefix ? `${prefix}.${n}` : n);
  }
  /** This module's own parameters and buffers, without its children's. */
  *ownTensors(): Generator<[string, Tensor]> {
    yield* this.params.entries();
    yield* this.buffers.entries();
  }
  parameters(): Tensor[] {
    return [...this.namedParameters()].map(([, t]) => t);
  }
  numParameters(): number {
    return this.parameters().reduce((a, t) => a + t.numel(), 0);
  }

  /** Parameters and buffers by dotted name (the live tensors, not copies). */
  stateDict(): Map<string, Tensor> {
    return new Map([...this.namedParameters(), ...this.namedBuffers()]);
  }

  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /** Freezes (false) or unfreezes every parameter. */
  requiresGrad_(value: boolean): this {
    for (const t of this.parameters()) t.requiresGrad = value;
    return this;
  }

  /**
   * Copies values from a state dict into this module's tensors (converted to their dtype and
   * device). Returns what was missing, unexpected or of another shape; strict throws on any.
   */
  loadStateDict(
    sd: Map<string, Tensor> | Record<string, Tensor>,
    opts: { strict?: boolean; source?: string /** Called with each source tensor once copied. */; copied?: (src: Tensor) => void } = {},
  ): LoadReport {
    const src = sd instanceof Map ? sd : new Map(Object.entries(sd));
    const own = this.stateDict();
    const report: LoadReport = { missing: [], unexpected: [], mismatched: [] };
    torch.noGrad(() =>
      torch.scope(() => {
        for (const [name, t] of own) {
          const v = src.get(name);
          if (!v) {
            report.missing.push(name);
            continue;
          }
          if (v.shape.join() !== t.shape.join()) {
            report.mismatched.push(`${name}: [${v.shape}] vs [${t.shape}]`);
            continue;
          }
          t.copy_(v);
          opts.copied?.(v);
        }
      }),
    );
    for (const name of src.keys()) if (!own.has(name)) report.unexpected.push(name);
    if (opts.strict && (report.missing.length || report.unexpected.length || report.mismatched.length)) {
      const parts = [
        report.missing.length
          ? `${report.missing.length} missing (${report.missing.slice(0, 3).join(', ')}${report.missing.length > 3 ? ', ...' : ''})`
          : '',
        report.unexpected.length
          ? `${report.unexpected.length} unexpected (${report.unexpected.slice(0, 3).join(', ')}${report.unexpected.length > 3 ? ', ...' : ''})`
          : '',
        report.mismatched.length ? `${report.mismatched.length} of another shape (${report.mismatched.slice(0, 2).join('; ')})` : '',
      ].filter(Boolean);
      throw new Error(`${opts.source ?? this.constructor.name}: state dict does not fit: ${parts.join(', ')}`);
    }
    return report;
  }

  /** Moves/casts every parameter and buffer (only this module's own with recurse false) in place of the old tensors (which are freed). */
  to(target: { dtype?: DType; device?: string; recurse?: boolean }): this {
    for (const m of target.recurse === false ? [this] : [...this.namedModules()].map(([, m]) => m)) {
      for (const map of [m.params, m.buffers]) {
        for (const [n, t] of map) {
          const floating = t.dtype.startsWith('float') || t.dtype === 'bfloat16';
          if ((!floating || !target.dtype || t.dtype === target.dtype) && (!target.device || t.device === target.device)) continue;
          const moved = torch.noGrad(() => t.to({ dtype: floating ? target.dtype : undefined, device: target.device }));
          moved.keep();
          if (map === m.params && t.requiresGrad) moved.requiresGrad = true;
          map.set(n, moved);
          t.dispose();
        }
      }
    }
    return this;
  }

  /** Frees every parameter and buffer. */
  dispose(): void {
    for (const [, t] of this.namedParameters()) t.dispose();
    for (const [, t] of this.namedBuffers()) t.dispose();
  }
}
