// Reads a prodigy/ golden case: its JSON, its tensors, and the groups it ran with, so tests can
// teacher-force the recorded gradients (README "Tolerances": feed grad.<p>[step]).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { safetensors, type Tensor } from '../../src/torch/index.ts';

export interface GroupAfter {
  lr: number;
  d: number;
  d0?: number;
  d_max?: number;
  d_hat?: number;
  d_numerator?: number;
  d_denom?: number;
  numerator_weighted?: number;
  k: number;
}

export interface OptimCase {
  case: string;
  optimizer: 'Prodigy' | 'DAdaptAdam';
  dtype: 'float32' | 'float64';
  param_names: string[];
  optimizer_kwargs: Record<string, unknown>;
  param_groups: ({ params: string[] } & Record<string, unknown>)[];
  lr_scheduler: { type: string; T_max: number; eta_min: number } | null;
  steps_done: number;
  error: { type: string; message: string } | null;
  per_step: {
    lr_used: number[][];
    d_before: number[];
    dlr_used: number[];
    group_after: GroupAfter[][];
    lr_after_scheduler: number[][];
    d_times_lr_logged: number[][];
  };
}

export function loadCase(dir: string, name: string): { c: OptimCase; tensors: Map<string, Tensor> } {
  const c = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as OptimCase;
  return { c, tensors: safetensors.load(join(dir, `${name}.safetensors`)) };
}

/** snake_case upstream keyword names to lyco's camelCase option names. */
export function camel(kwargs: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(kwargs)) out[k.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase())] = v;
  return out;
}

export function caseNames(dir: string, optimizer: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .filter((n) => (JSON.parse(readFileSync(join(dir, `${n}.json`), 'utf8')) as OptimCase).optimizer === optimizer)
    .sort();
}

export interface Tolerance {
  /** rtol on d and the other group statistics */
  d: number;
  /** params: abs(diff) <= atol + rtol·abs(p) */
  atol: number;
  rtol: number;
}

/** The README's tolerances per case kind. */
export function toleranceOf(c: OptimCase): Tolerance {
  if (c.dtype === 'float64') return { d: 1e-9, atol: 1e-10, rtol: 1e-9 };
  if (c.optimizer === 'DAdaptAdam') return { d: 1e-5, atol: 1e-4, rtol: 1e-4 };
  return { d: 1e-5, atol: 2e-5, rtol: 1e-4 };
}

export function closeRel(actual: number, expected: number, rtol: number): boolean {
  return actual === expected || Math.abs(actual - expected) <= rtol * Math.abs(expected);
}

/** Largest violation ratio |a-e| / (atol + rtol·|e|) over two arrays (<= 1 passes). */
export function worstRatio(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const r = Math.abs(actual[i] - expected[i]) / (atol + rtol * Math.abs(expected[i]));
    if (!(r <= worst)) worst = r; // NaN counts as a failure
  }
  return worst;
}
