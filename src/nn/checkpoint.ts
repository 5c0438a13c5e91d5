// Gradient checkpointing driven from TypeScript. libtorch's autograd engine runs CUDA backward
// on its own worker threads, where no JavaScript can be called, so torch.utils.checkpoint's
// trick (a custom autograd function that re-runs the forward) is not available. Instead:
//
//   forward:  each checkpoint(fn, inputs) runs fn without grad and keeps only its inputs; its
//             outputs become fresh leaves that require grad, so the rest of the graph ends there.
//   backward: tape.backward(loss) backprops the loss to those leaves, then replays the segments
//             in reverse order with grad on and pushes each segment's output grads through it
//             (t.backward(gradient)), which fills the parameters' grads and the grads of the
//             segment's inputs (= the previous segments' output leaves).
//
// Non-leaf inputs that require grad (e.g. the time embedding, made by ordinary ops) are detached
// once per tape; their accumulated grads are pushed into the original graph at the end.
// The tape holds its own handles (kept) to every input and output, since the model's scopes free
// theirs; they are released by backward() or dispose(). Segment outputs are valid until then.
// Segments must be deterministic (no dropout with p > 0): the replay must equal the first run.
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';

type SegmentFn = (...inputs: Tensor[]) => Tensor[];

interface Segment {
  fn: SegmentFn;
  inputs: Tensor[];
  outputs: Tensor[];
}

let active: CheckpointTape | null = null;

function floating(t: Tensor): boolean {
  const d = t.dtype;
  return d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16';
}

/** Backprops Σ outputs[i]·grads[i] in one pass over the graph (direct when there is one). */
function backwardMany(outputs: Tensor[], grads: (Tensor | undefined)[]): void {
  torch.scope(() => {
    // A tensor listed twice (a block returning its hidden state also as a skip) counts once.
    const seen = new Set<Tensor>();
    const pairs = outputs
      .map((o, i) => [o, grads[i]] as const)
      .filter(([o, g]) => g !== undefined && o.requiresGrad && !seen.has(o) && seen.add(o) !== undefined);
    if (pairs.length === 0) return;
    if (pairs.length === 1) {
      pairs[0][0].backward(pairs[0][1]);
      return;
    }
    let total = pairs[0][0].mul(pairs[0][1]!).sum();
    for (const [o, g] of pairs.slice(1)) total = total.add(o.mul(g!).sum());
    total.backward();
  });
}

/**
 * Records checkpointed segments while `record(fn)` runs; `backward(loss)` replaces
 * `loss.backward()`. Use inside the training step's scope (it holds the step's tensors).
 */
export class CheckpointTape {
  private segments: Segment[] = [];
  /** Non-leaf input → [a differentiable alias of it (survives the model's scopes), its detached leaf]. */
  private detached = new Map<Tensor, [Tensor, Tensor]>();
  /** Handles this tape made and must free. */
  private owned = new Set<Tensor>();

  /** Runs fn with this tape active: checkpoint() calls inside it are recorded. */
  record<T>(fn: () => T): T {
    const prev = active;
    active = this;
    try {
      return fn();
    } finally {
      active = prev;
    }
  }

  get size(): number {
    return this.segments.length;
  }

  private own(t: Tensor): Tensor {
    this.owned.add(t.keep());
    return t;
  }

  /**
   * The tape's handle for an input: itself when the tape made it (an earlier segment's output);
   * a detached leaf (one per tensor) for a non-leaf that requires grad; otherwise an alias, which
   * outlives the model's scope and still routes gradient to a leaf such as the user's input.
   */
  private inputFor(x: Tensor): Tensor {
    if (this.owned.has(x)) return x;
    if (x.requiresGrad && !x.isLeaf) {
      let pair = this.detached.get(x);
      if (!pair) {
        pair = [this.own(torch.ops.alias(x)), this.own(torch.noGrad(() => x.detach()).requiresGrad_(true))];
        this.detached.set(x, pair);
      }
      return pair[1];
    }
    return this.own(torch.ops.alias(x));
  }

  run(fn: SegmentFn, inputs: Tensor[]): Tensor[] {
    const mapped = inputs.map((x) => this.inputFor(x));
    const outputs = torch.noGrad(() => torch.scope(() => fn(...mapped)));
    for (const o of outputs) {
      this.own(o);
      if (floating(o)) o.requiresGrad = true;
    }
    this.segments.push({ fn, inputs: mapped, outputs });
    return outputs;
  }

  /** Frees what the tape holds without backprop (e.g. after an error in the step). */
  dispose(): void {
    for (const t of this.owned) t.dispose();
    this.owned = new Set();
    this.segments = [];
    this.detached = new Map();
  }

  /** loss.backward() through the checkpointed segments; the tape is empty afterwards. */
  backward(loss: Tensor): void {
    // The graph before the segments is traversed again at the end, so keep it for that.
    loss.backward(undefined, { retainGraph: this.detached.size > 0 });
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const seg = this.segments[i];
      torch.scope(() => {
        const grads = seg.outputs.map((o) => (o.requiresGrad ? o.grad : undefined));
        if (grads.every((g) => g === undefined)) return;
        const outputs = torch.enableGrad(() => seg.fn(...seg.inputs));
        backwardMany(outputs, grads);
      });
      for (const o of seg.outputs) if (o.requiresGrad) o.grad = undefined;
    }
    const pairs = [...this.detached.values()];
    torch.scope(() =>
      backwardMany(
        pairs.map(([orig]) => orig),
        pairs.map(([, leaf]) => leaf.grad),
      ),
    );
    this.dispose();
  }
}

/** The tape recording now, if any. */
export function activeTape(): CheckpointTape | null {
  return active;
}

/**
 * Runs fn(...inputs) as one checkpointed segment when a tape is recording and grad is on;
 * otherwise simply calls it (plain autograd), so models can always route blocks through here.
 */
export function checkpoint(fn: SegmentFn, inputs: Tensor[]): Tensor[] {
  if (active === null || !torch.isGradEnabled()) return fn(...inputs);
  return active.run(fn, inputs);
}
