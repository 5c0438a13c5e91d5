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
    const pairs = outputs.map((o, i) => [o, grads[i]] as const).filter(([o, g]) => g !== undefined && o.requiresGrad);
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
  private detached = new Map<Tensor, Tensor>();

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

  /** Stand-in for a non-leaf input: a detached leaf, the same one for every segment. */
  leafFor(x: Tensor): Tensor {
    if (!x.requiresGrad || x.isLeaf) return x;
    let leaf = this.detached.get(x);
    if (!leaf) {
      leaf = x.detach().requiresGrad_(true);
      this.detached.set(x, leaf);
    }
    return leaf;
  }

  run(fn: SegmentFn, inputs: Tensor[]): Tensor[] {
    const mapped = inputs.map((x) => this.leafFor(x));
    const outputs = torch.noGrad(() => torch.scope(() => fn(...mapped)));
    for (const o of outputs) if (floating(o)) o.requiresGrad = true;
    this.segments.push({ fn, inputs: mapped, outputs });
    return outputs;
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
    const originals = [...this.detached.keys()];
    torch.scope(() =>
      backwardMany(
        originals,
        originals.map((x) => this.detached.get(x)!.grad),
      ),
    );
    this.segments = [];
    this.detached = new Map();
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
