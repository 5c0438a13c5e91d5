// Tensor lifetime. GC cannot bound memory inside a synchronous training step (Node 20 runs
// finalizers only after the event loop turns), so scopes are the mechanism:
// scope(fn) disposes every tensor created inside fn that fn does not return or keep().
// Tensors made outside any scope, or kept, get a FinalizationRegistry entry as a safety net.
import { native } from './native.ts';

export interface Owned {
  readonly id: number;
  /** Set by keep(): no scope frees it. A field, not a WeakSet, because scopes check every tensor. */
  kept: boolean;
}

const registry = new FinalizationRegistry<number>((id) => {
  native.dispose(id); // a stale id (already disposed) is a no-op in the addon
});

let current: Owned[] | null = null;

/** Called for every tensor the API creates. */
export function track<T extends Owned>(t: T): T {
  if (current !== null) current.push(t);
  else registry.register(t, t.id);
  return t;
}

/** Exempts a tensor from the enclosing scopes; it lives until dispose() or GC. */
export function keep<T extends Owned>(t: T): T {
  if (!t.kept) {
    t.kept = true;
    registry.register(t, t.id);
  }
  return t;
}

function isThenable(v: unknown): boolean {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

// What fn returned (tensors in arrays, plain objects and Maps, a few levels deep) survives.
function collect(v: unknown, out: Set<Owned>, depth: number, isTensor: (x: unknown) => x is Owned): void {
  if (depth > 4 || v === null || typeof v !== 'object') return;
  if (isTensor(v)) {
    out.add(v);
  } else if (Array.isArray(v)) {
    for (const x of v) collect(x, out, depth + 1, isTensor);
  } else if (v instanceof Map) {
    for (const x of v.values()) collect(x, out, depth + 1, isTensor);
  } else if (Object.getPrototypeOf(v) === Object.prototype) {
    for (const x of Object.values(v)) collect(x, out, depth + 1, isTensor);
  }
}

let isTensorFn: (x: unknown) => x is Owned = (_x): _x is Owned => false;
export function setTensorCheck(fn: (x: unknown) => x is Owned): void {
  isTensorFn = fn;
}

/**
 * Runs fn synchronously; disposes the tensors it created except those returned (moved to the
 * enclosing scope) or kept. fn must not return a Promise: an await would let other work
 * create tensors into this scope.
 */
export function scope<T>(fn: () => T): T {
  const outer = current;
  const mine: Owned[] = [];
  current = mine;
  let result: T;
  try {
    result = fn();
    if (isThenable(result)) {
      throw new TypeError('scope(fn): fn returned a Promise; scopes are synchronous (await outside, scope each step)');
    }
  } catch (e) {
    current = outer;
    native.disposeMany(mine.filter((t) => !t.kept).map((t) => t.id));
    throw e;
  }
  current = outer;
  if (mine.length === 0) return result;
  const survivors = new Set<Owned>();
  if (typeof result === 'object' && result !== null) collect(result, survivors, 0, isTensorFn);
  const dead: number[] = [];
  for (const t of mine) {
    if (t.kept) continue;
    if (survivors.size > 0 && survivors.has(t)) {
      if (outer !== null) outer.push(t);
      else registry.register(t, t.id);
    } else {
      dead.push(t.id);
    }
  }
  native.disposeMany(dead);
  return result;
}

/** Number of tensors alive in the addon (for leak checks). */
export function liveTensors(): number {
  return native.liveHandles();
}

/** Host bytes held by live CPU tensors, as reported to V8. */
export function externalBytes(): number {
  return native.externalBytes();
}
