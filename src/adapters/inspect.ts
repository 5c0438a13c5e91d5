// `lyco inspect`: what an adapter file holds — algorithm, modules, trained values, ranks and
// alphas, dtypes, text-encoder/U-Net split, keys no loader understands, and its metadata.
import { statSync } from 'node:fs';
import { type FileAlgorithm, fileAlgorithm, isConvLora, type ModuleType, moduleRank, moduleType } from './detect.ts';
import { readAdapterFile } from './file.ts';

export interface InspectResult {
  file: string;
  bytes: number;
  algorithm: FileAlgorithm;
  modules: number;
  /** Trained values: every tensor except alpha and on_input. */
  parameters: number;
  types: Partial<Record<ModuleType, number>>;
  parts: Record<string, number>;
  /** rank → module count ("full" for full-matrix LoKr, "-" where there is no rank). */
  dims: Record<string, number>;
  alphas: Record<string, number>;
  dtypes: Record<string, number>;
  /** Modules whose key set no loader recognises. */
  unknownModules: string[];
  metadata: Record<string, string>;
}

const bump = (o: Record<string, number>, k: string) => {
  o[k] = (o[k] ?? 0) + 1;
};

export function inspectAdapter(path: string): InspectResult {
  const f = readAdapterFile(path);
  try {
    const r: InspectResult = {
      file: path,
      bytes: statSync(path).size,
      algorithm: 'lora',
      modules: f.modules.size,
      parameters: 0,
      types: {},
      parts: {},
      dims: {},
      alphas: {},
      dtypes: {},
      unknownModules: [],
      metadata: f.metadata,
    };
    const types: ModuleType[] = [];
    let anyConv = false;
    for (const [name, m] of f.modules) {
      const type = moduleType(m);
      types.push(type);
      r.types[type] = (r.types[type] ?? 0) + 1;
      if (type === 'unknown') r.unknownModules.push(`${name} (${[...m.keys()].join(', ')})`);
      bump(r.parts, /^lora_(te\d?|unet)_/.exec(name)?.[1] ?? 'other');
      const rank = moduleRank(type, m);
      bump(r.dims, rank !== undefined ? String(rank) : type === 'lokr' ? 'full' : '-');
      const alpha = m.get('alpha');
      bump(r.alphas, alpha ? String(Math.round(alpha.item() * 1e4) / 1e4) : '-');
      if (type === 'lora' && isConvLora(m)) anyConv = true;
      for (const [k, t] of m) {
        bump(r.dtypes, t.dtype);
        if (k !== 'alpha' && k !== 'on_input') r.parameters += t.numel();
      }
    }
    r.algorithm = fileAlgorithm(types, anyConv, f.metadata);
    return r;
  } finally {
    f.dispose();
  }
}

export function formatInspect(r: InspectResult): string {
  const kv = (o: Record<string, number>) =>
    Object.entries(o)
      .sort(([a], [b]) => Number(a) - Number(b) || a.localeCompare(b))
      .map(([k, v]) => `${k} ×${v}`)
      .join(', ');
  const lines = [
    `file        ${r.file} (${r.bytes.toLocaleString('en-US')} bytes)`,
    `algorithm   ${r.algorithm}`,
    `modules     ${r.modules} (${kv(r.parts)})`,
    `parameters  ${r.parameters.toLocaleString('en-US')}`,
    `types       ${kv(r.types as Record<string, number>)}`,
    `dims        ${kv(r.dims)}`,
    `alphas      ${kv(r.alphas)}`,
    `dtypes      ${kv(r.dtypes)}`,
  ];
  if (r.algorithm === 'ia3')
    lines.push('note        ComfyUI and Forge have no iA3 loader; A1111 loads it (lyco convert writes a ComfyUI form)');
  if (r.unknownModules.length)
    lines.push(`unknown     ${r.unknownModules.length} modules no loader recognises: ${r.unknownModules.slice(0, 5).join('; ')}`);
  const meta = Object.entries(r.metadata).sort(([a], [b]) => a.localeCompare(b));
  if (meta.length) {
    lines.push('metadata');
    for (const [k, v] of meta) lines.push(`  ${k} = ${v.length > 200 ? `${v.slice(0, 200)}… (${v.length} chars)` : v}`);
  }
  return lines.join('\n');
}
