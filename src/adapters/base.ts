// The module side of every algorithm: wraps one Linear/Conv2d's forward on the instance (the
// original stays on the prototype and is called, as kohya/LyCORIS do; base weights are never
// copied), owns the adapter tensors under their file suffixes (`lora_up.weight`, `hada_w1_a`, ...),
// and implements module dropout, rank dropout, the multiplier, DoRA and max-norm around the pure
// maths in ./functional.
import { computesWider, Module } from '../nn/index.ts';
import type { DType, Generator, Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import { applyDora, weightNorm } from './functional/dora.ts';
import { applyWeight, type LayerInfo, layerInfo } from './layer.ts';

export type Algo = 'lora' | 'locon' | 'loha' | 'lokr' | 'ia3' | 'dylora' | 'full';

export interface AdapterOptions {
  multiplier?: number;
  /** network_dropout: where each algorithm applies it is documented on the algorithm. */
  dropout?: number;
  rankDropout?: number;
  moduleDropout?: number;
  /** LyCORIS rank_dropout_scale: divide the kept mask by its mean. */
  rankDropoutScale?: boolean;
  /** DoRA (LyCORIS weight_decompose); 'input' is the axis A1111 renders, 'output' LyCORIS ≥ 3.2's default. */
  dora?: false | 'output' | 'input';
  generator?: Generator;
}

export interface MaxNormResult {
  scaled: boolean;
  /** ‖ΔW‖ after the update (what sd-scripts averages and logs). */
  norm: number;
}

/** The forward a target had before apply(). */
type Forward = (x: Tensor) => Tensor;

export abstract class AdapterModule extends Module {
  abstract readonly algo: Algo;
  readonly layer: LayerInfo;
  multiplier: number;
  readonly dropout: number;
  readonly rankDropout: number;
  readonly moduleDropout: number;
  readonly rankDropoutScale: boolean;
  readonly doraAxis: false | 'output' | 'input';
  readonly generator?: Generator;
  private orgForward?: Forward;
  private hadOwnForward = false;
  private ownForward?: unknown;

  constructor(
    readonly loraName: string,
    readonly target: Module,
    o: AdapterOptions = {},
  ) {
    super();
    const layer = layerInfo(target);
    if (!layer) throw new Error(`${loraName}: target is not a Linear or Conv2d (${target.constructor.name})`);
    if (layer.groups !== 1) throw new Error(`${loraName}: grouped convolutions are not supported`);
    this.layer = layer;
    this.multiplier = o.multiplier ?? 1;
    this.dropout = o.dropout ?? 0;
    this.rankDropout = o.rankDropout ?? 0;
    this.moduleDropout = o.moduleDropout ?? 0;
    this.rankDropoutScale = o.rankDropoutScale ?? false;
    this.doraAxis = o.dora ?? false;
    this.generator = o.generator;
  }

  /** The target's current weight (a live reference, never a copy). */
  get targetWeight(): Tensor {
    return this.target.get('weight');
  }

  /** The target's bias, if it has one (a live reference). */
  get targetBias(): Tensor | undefined {
    for (const [n, t] of this.target.ownTensors()) if (n === 'bias') return t;
    return undefined;
  }

  /**
   * The dtype the target layer computes in for input x: its weight's, except for frozen half
   * weights computed wider (nn/frozen.ts), where it is the input's.
   */
  protected computeDtype(x: Tensor): DType {
    const w = this.targetWeight;
    return computesWider(w, x) ? x.dtype : w.dtype;
  }

  /** Parameter/buffer dtype and device for new adapter tensors: the target's device unless it is shape-only (meta). */
  protected get device(): string | undefined {
    const w = this.target.get('weight');
    return w.device === 'meta' ? undefined : w.device;
  }

  /** Registers the DoRA magnitude (‖W‖ along the chosen axis, float32) when DoRA is on. */
  protected initDora(): void {
    if (!this.doraAxis) return;
    this.param(
      'dora_scale',
      torch.noGrad(() => torch.scope(() => weightNorm(this.targetWeight.float(), this.doraAxis === 'output'))),
    );
  }

  /** Replaces the target's forward on the instance; restore() undoes it. */
  apply(): this {
    if (this.orgForward) return this;
    const t = this.target as unknown as { forward: Forward };
    this.hadOwnForward = Object.hasOwn(t, 'forward');
    this.ownForward = this.hadOwnForward ? t.forward : undefined;
    const org = t.forward;
    this.orgForward = (x) => org.call(t, x);
    t.forward = (x: Tensor) => this.forward(x);
    return this;
  }

  restore(): void {
    if (!this.orgForward) return;
    const t = this.target as unknown as { forward?: unknown };
    if (this.hadOwnForward) t.forward = this.ownForward;
    else delete t.forward;
    this.orgForward = undefined;
  }

  /** The target's own forward (works whether or not apply() ran). */
  callOriginal(x: Tensor): Tensor {
    if (this.orgForward) return this.orgForward(x);
    return (this.target as unknown as { forward: Forward }).forward(x);
  }

  forward(x: Tensor): Tensor {
    if (this.training && this.moduleDropout > 0 && this.draw() < this.moduleDropout) return this.callOriginal(x);
    return this.adapterForward(x);
  }

  /** One U(0, 1) draw from the module's generator (or the default one). */
  protected draw(): number {
    return torch.scope(() => torch.rand([1], { generator: this.generator }).item());
  }

  /** Forward with the adapter active (module dropout already decided). */
  protected abstract adapterForward(x: Tensor): Tensor;

  /** ΔW with scale and without multiplier, in the target's shape; `train` applies rank dropout. */
  abstract deltaWeight(train?: boolean): Tensor;

  /** ΔW as a loader or merge applies it: `m · ΔW` (DoRA: merged − W). */
  diffWeight(multiplier = this.multiplier): Tensor {
    return torch.noGrad(() =>
      torch.scope(() => {
        const w = this.targetWeight.float();
        return this.mergedFrom(w, this.deltaWeight(false), multiplier).sub(w);
      }),
    );
  }

  /** W + m·ΔW (DoRA: the decomposed weight), float32. */
  mergedWeight(multiplier = this.multiplier): Tensor {
    return torch.noGrad(() => torch.scope(() => this.mergedFrom(this.targetWeight.float(), this.deltaWeight(false), multiplier)));
  }

  protected mergedFrom(w: Tensor, delta: Tensor, m: number): Tensor {
    if (this.doraAxis) return applyDora(w.add(delta), this.get('dora_scale'), this.doraAxis === 'output', m);
    return w.add(delta.mul(m));
  }

  /**
   * The weight-rebuild forward (LyCORIS ≥ 3 default path): org(x) + op(x, W' − W), W' from
   * mergedFrom(); network dropout, when honoured, drops elements of the delta's output.
   */
  protected rebuildForward(x: Tensor, delta: Tensor): Tensor {
    return torch.scope(() => {
      const w = this.targetWeight;
      const d = this.doraAxis ? this.mergedFrom(w, delta, this.multiplier).sub(w) : delta.mul(this.multiplier);
      return this.finishDelta(x, applyWeight(x, d.to(this.computeDtype(x)), this.layer));
    });
  }

  /** org(x) + the delta's output, after network dropout when honoured (elements of the delta's output). */
  protected finishDelta(x: Tensor, out: Tensor): Tensor {
    const dropped = this.training && this.dropout > 0 ? torch.F.dropout(out, this.dropout, true, this.generator) : out;
    return this.callOriginal(x).add(dropped);
  }

  /** Rank dropout's row mask (keep a row if U > p), drawn as dropRows draws it; undefined when off. */
  private rowMask(rows: number, dtype: DType): Tensor | undefined {
    if (!this.training || this.rankDropout <= 0) return undefined;
    let keep = torch.rand([rows], { generator: this.generator }).gt(this.rankDropout).to(dtype);
    if (this.rankDropoutScale) keep = keep.div(keep.mean().clamp(1e-12));
    return keep;
  }

  /** Rank dropout on a delta's output channels: the same draw and effect as dropRows on ΔW. */
  protected dropOutputs(out: Tensor): Tensor {
    return torch.scope(() => {
      const keep = this.rowMask(this.layer.outFeatures, out.dtype);
      if (!keep) return out;
      return out.mul(this.layer.kind === 'conv2d' ? keep.reshape(1, -1, 1, 1) : keep);
    });
  }

  /** Rank dropout over the output rows of ΔW (LyCORIS LoHa/LoKr/rebuild LoCon): keep a row if U > p. */
  protected dropRows(delta: Tensor): Tensor {
    return torch.scope(() => {
      const keep = this.rowMask(delta.shape[0], delta.dtype);
      return keep ? delta.mul(keep.reshape(-1, ...delta.shape.slice(1).map(() => 1))) : delta;
    });
  }

  /** sd-scripts' max-norm clamp: ratio = min(1, c/‖ΔW‖) (exactly 1 when ‖ΔW‖ ≤ c). */
  applyMaxNorm(maxNorm: number): MaxNormResult {
    return torch.noGrad(() =>
      torch.scope(() => {
        const n = this.deltaWeight(false).float().norm().item();
        const nHat = Math.max(n, maxNorm / 2);
        const ratio = Math.min(nHat, maxNorm) / nHat;
        if (ratio === 1) return { scaled: false, norm: n };
        this.scaleFactors(ratio);
        return { scaled: true, norm: n * ratio };
      }),
    );
  }

  /** Scales the stored factors so that ΔW is multiplied by `ratio` (per-algorithm rule, spec §1.7). */
  protected abstract scaleFactors(ratio: number): void;

  /** The adapter's tensors by file suffix (what a `.safetensors` stores under `<loraName>.`). */
  fileTensors(): Map<string, Tensor> {
    return this.stateDict();
  }
}
