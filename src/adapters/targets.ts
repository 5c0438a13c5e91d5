// Which layers an adapter network wraps and what they are called, as kohya / LyCORIS decide:
//  - class targets: inside every module whose class name is listed, each Linear / Conv2d child
//    (kohya networks.lora, LyCORIS presets);
//  - name targets: modules whose full dotted path equals a listed name (LyCORIS ≥ 3 `full` preset);
//  - substring targets: any Linear / Conv2d whose full path contains a listed string (iA3 in
//    LyCORIS 1.8–2.2).
// lora_name = prefix + "_" + path with "." → "_" (spec §3.2), the path optionally renamed first
// (SDXL: diffusers → SGM paths, see ./sgm-names.ts).
import type { Module } from '../nn/index.ts';
import { type LayerInfo, layerInfo } from './layer.ts';

export interface TargetRules {
  classes?: string[];
  names?: string[];
  substrings?: string[];
}

export interface Target {
  loraName: string;
  /** Dotted path from the model root (diffusers/transformers names). */
  path: string;
  /** The path the name was built from (path, or its SGM form for SDXL). */
  namedPath: string;
  module: Module;
  layer: LayerInfo;
  /** Class name of the enclosing target module (class rules only). */
  parentClass?: string;
}

export function loraName(prefix: string, path: string): string {
  return `${prefix}_${path.replaceAll('.', '_')}`;
}

/** Class name used for matching: the JS class name (models name their classes as diffusers/transformers do). */
export function className(m: Module): string {
  return m.constructor.name;
}

/** Every targeted layer under root, in module order, each once; `rename` maps a path to the one the name uses. */
export function findTargets(root: Module, prefix: string, rules: TargetRules, rename?: (path: string) => string | undefined): Target[] {
  const out: Target[] = [];
  const seen = new Set<string>();
  const add = (path: string, module: Module, parentClass?: string) => {
    if (seen.has(path)) return;
    const layer = layerInfo(module);
    if (!layer) return;
    seen.add(path);
    const namedPath = rename?.(path) ?? path;
    out.push({ loraName: loraName(prefix, namedPath), path, namedPath, module, layer, parentClass });
  };
  const classes = new Set(rules.classes ?? []);
  const names = new Set(rules.names ?? []);
  for (const [path, m] of root.namedModules()) {
    if (classes.has(className(m))) {
      for (const [child, c] of m.namedModules()) if (child) add(path ? `${path}.${child}` : child, c, className(m));
    }
    if (names.has(path)) add(path, m);
    if (rules.substrings?.some((s) => path.includes(s))) add(path, m);
  }
  return out;
}
