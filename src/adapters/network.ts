// The adapter network: finds the target layers of the U-Net and text encoders, builds one adapter
// per layer with the algorithm's dim/alpha rules, wraps their forwards, groups the trainable
// tensors for unet_lr / text_encoder_lr and applies max-norm with sd-scripts' statistics.
// Where kohya/LyCORIS 1.8 silently ignore a setting (train_on_input, network_dropout on
// LoKr/LoHa/iA3, alpha with full-matrix LoKr, scale_weight_norms on iA3/DyLoRA) lyco behaves the
// same by default, warns once per key, and offers the switch that makes the key act as written.
import { Module } from '../nn/index.ts';
import type { Generator, Tensor } from '../torch/index.ts';
import type { AdapterModule, Algo, MaxNormResult } from './base.ts';
import { DyloraModule } from './dylora.ts';
import { FullModule } from './full.ts';
import { Ia3Module } from './ia3.ts';
import { LoconModule } from './locon.ts';
import { LohaModule } from './loha.ts';
import { LokrModule } from './lokr.ts';
import { IA3_ON_INPUT, IA3_RULES, kohyaRules, type LycorisPreset, lycorisRules, type PresetRules } from './presets.ts';
import { findTargets, type Target } from './targets.ts';
import { sgmPath, unetLayoutOf, usesSgmNames } from './unet-naming.ts';

export type { Algo } from './base.ts';

export type NetworkModuleName = 'networks.lora' | 'networks.dylora' | 'lycoris.kohya';

export interface NetworkConfig {
  /** sd-scripts --network_module. */
  networkModule: NetworkModuleName;
  /** LyCORIS algo (networks.lora → 'lora', networks.dylora → 'dylora'). */
  algo: Algo;
  networkDim: number;
  networkAlpha?: number | null;
  /** undefined: kohya → no conv layers; LyCORIS → network_dim. 0 disables k×k convs. */
  convDim?: number;
  /** undefined: kohya → 1.0; LyCORIS → network_alpha. */
  convAlpha?: number | null;
  multiplier?: number;
  /** --network_dropout. */
  dropout?: number;
  rankDropout?: number;
  moduleDropout?: number;
  rankDropoutScale?: boolean;
  factor?: number;
  decomposeBoth?: boolean;
  useTucker?: boolean;
  /** LyCORIS preset (default full). */
  preset?: LycorisPreset;
  /** 1: LyCORIS 1.8 semantics (the guide's kohya_ss 21.8); 3: LyCORIS 3 name targets. */
  lycorisVersion?: 1 | 3;
  /** iA3 train_on_input as the preset says; upstream never applied it (default: ignored, warned). */
  trainOnInput?: boolean;
  /** Make train_on_input act as written: fc2 / ff.net.2 scale their input. */
  ia3TrainOnInputAsWritten?: boolean;
  /** iA3 forward as LyCORIS ≤ 2.2 trained it: (Wx + b)·(1 + w) on output. */
  ia3ScaleBias?: boolean;
  /** Apply network_dropout to LoKr/LoHa (LyCORIS 1.8 ignored it there). */
  dropoutAsWritten?: boolean;
  blockSize?: number;
  dora?: false | 'output' | 'input';
  generator?: Generator;
}

export interface NetworkModels {
  unet?: Module;
  textEncoders?: Module[];
  /** How U-Net modules are named: kohya uses SGM paths for SDXL (default: 'sgm' for an SDXL U-Net, else 'diffusers'). */
  unetNames?: 'diffusers' | 'sgm';
}

export interface ParamGroup {
  part: 'unet' | 'text_encoder';
  params: Tensor[];
  lr?: number;
}

export interface MaxNormStats {
  keysScaled: number;
  meanNorm: number;
  maxNorm: number;
}

/** The U-Net path renamer kohya's naming needs (SGM paths for SDXL), or undefined. */
function unetRenamer(models: NetworkModels): ((path: string) => string | undefined) | undefined {
  const unet = models.unet;
  if (!unet) return undefined;
  const sgm = models.unetNames ? models.unetNames === 'sgm' : usesSgmNames(unet);
  const layout = sgm ? unetLayoutOf(unet) : undefined;
  return layout ? (p) => sgmPath(p, layout) : undefined;
}

export class AdapterNetwork extends Module {
  readonly adapters: AdapterModule[] = [];
  readonly warnings: string[] = [];
  /** Each adapter's part (unet / text_encoder). */
  private readonly parts = new Map<AdapterModule, 'unet' | 'text_encoder'>();

  constructor(
    readonly config: NetworkConfig,
    models: NetworkModels,
    private readonly warn: (msg: string) => void = (m) => console.warn(`lyco: ${m}`),
  ) {
    super();
    const tes = models.textEncoders ?? [];
    const rules = this.rules();
    const groups: [string, Module | undefined, 'unet' | 'text_encoder', PresetRules['unet']][] = [];
    tes.forEach((te, i) => {
      groups.push([tes.length === 1 ? 'lora_te' : `lora_te${i + 1}`, te, 'text_encoder', rules.te]);
    });
    groups.push(['lora_unet', models.unet, 'unet', rules.unet]);
    const unetRename = unetRenamer(models);
    for (const [prefix, root, part, r] of groups) {
      if (!root) continue;
      for (const t of findTargets(root, prefix, r, part === 'unet' ? unetRename : undefined)) {
        const a = this.makeAdapter(t);
        if (!a) continue;
        this.module(t.loraName, a);
        this.adapters.push(a);
        this.parts.set(a, part);
      }
    }
    this.afterBuild();
  }

  private rules(): PresetRules {
    const c = this.config;
    if (c.algo === 'ia3') return IA3_RULES;
    if (c.networkModule !== 'lycoris.kohya') return kohyaRules(c.convDim !== undefined && c.convDim > 0);
    return lycorisRules(c.preset ?? 'full', c.lycorisVersion ?? 1);
  }

  private once = new Set<string>();
  private note(key: string, msg: string): void {
    if (this.once.has(key)) return;
    this.once.add(key);
    this.warnings.push(msg);
    this.warn(msg);
  }

  /** (dim, alpha) for a target, or undefined to skip it (dim 0). */
  private dims(t: Target): [number, number | null | undefined] | undefined {
    const c = this.config;
    const kxk = t.layer.kind === 'conv2d' && t.layer.kernel !== 1;
    if (!kxk) return c.networkDim > 0 ? [c.networkDim, c.networkAlpha] : undefined;
    const lycoris = c.networkModule === 'lycoris.kohya';
    const convDim = c.convDim ?? (lycoris ? c.networkDim : 0);
    if (lycoris && !lycorisRules(c.preset ?? 'full').enableConv) return undefined;
    if (!convDim) return undefined;
    const convAlpha = c.convAlpha ?? (lycoris ? c.networkAlpha : 1.0);
    return [convDim, convAlpha];
  }

  private makeAdapter(t: Target): AdapterModule | undefined {
    const c = this.config;
    const common = {
      multiplier: c.multiplier ?? 1,
      rankDropout: c.rankDropout,
      moduleDropout: c.moduleDropout,
      rankDropoutScale: c.rankDropoutScale,
      generator: c.generator,
      dora: c.dora,
    };
    if (c.algo === 'ia3') {
      const onInput = !!c.trainOnInput && !!c.ia3TrainOnInputAsWritten && IA3_ON_INPUT.some((s) => t.path.endsWith(s));
      return new Ia3Module(t.loraName, t.module, { ...common, onInput, scaleBias: c.ia3ScaleBias });
    }
    if (c.algo === 'full') return new FullModule(t.loraName, t.module, common);
    const d = this.dims(t);
    if (!d) return undefined;
    const [dim, alpha] = d;
    const dropoutHonoured = c.algo === 'lora' || c.algo === 'locon' || c.dropoutAsWritten;
    const dropout = dropoutHonoured ? c.dropout : 0;
    switch (c.algo) {
      case 'lora':
      case 'locon':
        return new LoconModule(t.loraName, t.module, {
          ...common,
          dropout,
          dim,
          alpha,
          tucker: c.useTucker,
          style: c.networkModule === 'networks.lora' ? 'kohya' : 'lycoris',
        });
      case 'loha':
        return new LohaModule(t.loraName, t.module, { ...common, dropout, dim, alpha, tucker: c.useTucker });
      case 'lokr':
        return new LokrModule(t.loraName, t.module, {
          ...common,
          dropout,
          dim,
          alpha,
          factor: c.factor ?? -1,
          decomposeBoth: c.decomposeBoth,
          tucker: c.useTucker,
        });
      case 'dylora':
        return new DyloraModule(t.loraName, t.module, {
          ...common,
          dim,
          alpha,
          blockSize: c.blockSize ?? 1,
          rule: c.networkModule === 'networks.dylora' ? 'kohya' : 'lycoris',
        });
    }
  }

  private afterBuild(): void {
    const c = this.config;
    if (c.algo === 'ia3' && c.trainOnInput && !c.ia3TrainOnInputAsWritten) {
      this.note(
        'train_on_input',
        'train_on_input: ignored, as kohya_ss with LyCORIS 1.8–2.2 ignored it (every iA3 module scales its output); ' +
          'set ia3_train_on_input_as_written to scale the input of fc2 / ff.net.2',
      );
    }
    if ((c.dropout ?? 0) > 0 && (c.algo === 'lokr' || c.algo === 'loha' || c.algo === 'ia3') && !c.dropoutAsWritten) {
      this.note(
        'network_dropout',
        `network_dropout ${c.dropout}: no effect for ${c.algo}, as in LyCORIS 1.8 (it was never applied there); set dropout_as_written to drop the adapter's output`,
      );
    }
    if ((c.dropout ?? 0) > 0 && c.algo === 'ia3' && c.dropoutAsWritten)
      this.note('network_dropout_ia3', 'network_dropout: iA3 has no dropout');
    const forced = this.adapters.filter((a) => a instanceof LokrModule && a.alphaForced).length;
    if (forced) {
      this.note(
        'lokr_alpha',
        `network_alpha/conv_alpha: ignored for ${forced} LoKr modules whose factors are both full matrices (dim ≥ half the factor size); ` +
          'LyCORIS stores alpha = dim there (scale 1). Lower network_dim/conv_dim to get decomposed factors where alpha applies',
      );
    }
  }

  /** Wraps every target's forward. */
  apply(): this {
    for (const a of this.adapters) a.apply();
    return this;
  }
  restore(): void {
    for (const a of this.adapters) a.restore();
  }

  setMultiplier(m: number): void {
    for (const a of this.adapters) a.multiplier = m;
  }

  /** Trainable tensors by part, for unet_lr / text_encoder_lr (a part with lr 0 is left out, as sd-scripts does). */
  paramGroups(lrs: { unetLr?: number; textEncoderLr?: number } = {}): ParamGroup[] {
    const out: ParamGroup[] = [];
    for (const part of ['text_encoder', 'unet'] as const) {
      const lr = part === 'unet' ? lrs.unetLr : lrs.textEncoderLr;
      if (lr === 0) continue;
      const params = this.adapters.filter((a) => this.parts.get(a) === part).flatMap((a) => a.parameters());
      if (params.length) out.push({ part, params, lr });
    }
    return out;
  }

  /** True when the algorithm supports max-norm (sd-scripts disables it with a warning otherwise). */
  get supportsMaxNorm(): boolean {
    return this.config.algo !== 'ia3' && this.config.algo !== 'dylora';
  }

  /**
   * --scale_weight_norms c after an optimizer step: per module ratio = min(1, c/‖ΔW‖) and
   * sd-scripts' (keys_scaled, mean, max) of the post-update norms over all modules.
   */
  applyMaxNormRegularization(maxNorm: number): MaxNormStats {
    if (!this.supportsMaxNorm) {
      this.note('scale_weight_norms', `scale_weight_norms: not supported for ${this.config.algo}; disabled, as sd-scripts does`);
      return { keysScaled: 0, meanNorm: 0, maxNorm: 0 };
    }
    let keysScaled = 0;
    let sum = 0;
    let max = 0;
    for (const a of this.adapters) {
      const r: MaxNormResult = a.applyMaxNorm(maxNorm);
      if (r.scaled) keysScaled++;
      sum += r.norm;
      max = Math.max(max, r.norm);
    }
    return { keysScaled, meanNorm: this.adapters.length ? sum / this.adapters.length : 0, maxNorm: max };
  }

  /** Number of trained values (what the file stores, alpha/on_input excluded). */
  trainedValues(): number {
    return this.numParameters();
  }
}
