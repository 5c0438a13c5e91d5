// Shape-only Stable Diffusion module trees built from golden/models/lora_names: containers carry
// the diffusers/transformers class names kohya matches (Transformer2DModel, ResnetBlock2D, ...),
// layers carry Linear/Conv2d fields and a weight on the meta device (no memory). Extra non-target
// layers (conv_in, conv_out, time embedding) check that discovery leaves them alone.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Module } from '../../src/nn/index.ts';
import * as torch from '../../src/torch/index.ts';

export interface LoraNameEntry {
  lora_name: string;
  part: 'unet' | 'text_encoder';
  kind: string;
  in: number;
  out: number;
  module: string;
  parent_class: string;
  needs_conv_dim: boolean;
  'lora_down.weight': number[];
  'lora_up.weight': number[];
  kernel?: number[];
  stride?: number[];
  padding?: number[];
}

class Container extends Module {
  add(name: string, m: Module): Module {
    return this.module(name, m);
  }
  child(name: string): Module | undefined {
    for (const [n, m] of this.namedChildren()) if (n === name) return m;
    return undefined;
  }
}

const classes = new Map<string, typeof Container>();
function containerClass(name: string): typeof Container {
  let c = classes.get(name);
  if (!c) {
    c = { [name]: class extends Container {} }[name];
    classes.set(name, c);
  }
  return c;
}

class MetaLinear extends Module {
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
  ) {
    super();
    this.buffer('weight', torch.empty([outFeatures, inFeatures], { device: 'meta' }));
  }
}
class MetaConv2d extends Module {
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    readonly stride = 1,
    readonly padding = 0,
  ) {
    super();
    this.buffer('weight', torch.empty([outChannels, inChannels, kernelSize, kernelSize], { device: 'meta' }));
  }
}

const CHILD_START = new Set([
  'transformer_blocks',
  'proj_in',
  'proj_out',
  'conv1',
  'conv2',
  'time_emb_proj',
  'conv_shortcut',
  'in_layers',
  'emb_layers',
  'out_layers',
  'skip_connection',
  'op',
  'conv',
  'q_proj',
  'k_proj',
  'v_proj',
  'out_proj',
  'fc1',
  'fc2',
]);

function insert(root: Container, path: string, leaf: Module, parentClass: string): void {
  const parts = path.split('.');
  const split = parts.findIndex((p) => CHILD_START.has(p));
  let cur = root;
  parts.forEach((p, i) => {
    if (i === parts.length - 1) {
      cur.add(p, leaf);
      return;
    }
    let next = cur.child(p) as Container | undefined;
    if (!next) {
      const Cls = i === split - 1 ? containerClass(parentClass) : Container;
      next = cur.add(p, new Cls()) as Container;
    }
    cur = next;
  });
}

export function loraNamesFile(golden: string, model: 'sd15' | 'sdxl'): { modules: LoraNameEntry[]; counts: Record<string, unknown> } {
  return JSON.parse(readFileSync(join(golden, 'models', 'lora_names', `${model}_kohya_lora_modules.json`), 'utf8'));
}

function leafOf(e: LoraNameEntry): Module {
  if (e.kind === 'Linear') return new MetaLinear(e.in, e.out);
  const k = e.kernel?.[0] ?? 1;
  return new MetaConv2d(e.in, e.out, k, e.stride?.[0] ?? 1, e.padding?.[0] ?? 0);
}

/** U-Net and text encoder(s) with every layer of the golden module list (+ SD1.5's non-target layers). */
export function buildLayout(golden: string, model: 'sd15' | 'sdxl'): { unet: Module; textEncoders: Module[]; entries: LoraNameEntry[] } {
  const { modules } = loraNamesFile(golden, model);
  const unet = new (containerClass('UNet2DConditionModel'))();
  const tes =
    model === 'sd15'
      ? [new (containerClass('CLIPTextModel'))()]
      : [new (containerClass('CLIPTextModel'))(), new (containerClass('CLIPTextModelWithProjection'))()];
  for (const e of modules) {
    const root = e.part === 'unet' ? unet : e.lora_name.startsWith('lora_te2_') ? tes[1] : tes[0];
    insert(root, e.module, leafOf(e), e.parent_class);
  }
  if (model === 'sd15') {
    unet.add('conv_in', new MetaConv2d(4, 320, 3, 1, 1));
    const te = unet.add('time_embedding', new Container()) as Container;
    te.add('linear_1', new MetaLinear(320, 1280));
    te.add('linear_2', new MetaLinear(1280, 1280));
    unet.add('conv_out', new MetaConv2d(320, 4, 3, 1, 1));
  }
  return { unet, textEncoders: tes, entries: modules };
}
