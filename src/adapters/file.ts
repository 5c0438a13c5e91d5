// Adapter `.safetensors` files as kohya/LyCORIS write them: `<lora_name>.<suffix>` tensors, every
// tensor (alpha and on_input included) cast to the save dtype, string `ss_*` metadata with the
// sshs hashes. A save is re-opened and compared bit for bit before it counts as written.
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import { safetensors } from '../torch/index.ts';
import type { AdapterModule } from './base.ts';
import { sshsHashes } from './hashes.ts';
import { loadAdapterTensors } from './load-tensors.ts';
import type { AdapterNetwork } from './network.ts';

export type SaveDType = 'float16' | 'bfloat16' | 'float32';

/** `<lora_name>.<suffix>` → tensor (cast when dtype is given; detached copies). */
export function adapterTensors(adapters: AdapterModule[], dtype?: SaveDType): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  torch.noGrad(() => {
    for (const a of adapters) {
      for (const [k, t] of a.fileTensors()) out.set(`${a.loraName}.${k}`, (dtype ? t.to(dtype, { copy: true }) : t.clone()).keep());
    }
  });
  return out;
}

/** Writes the network's adapters; returns the file's tensors' byte count. Throws if the file does not read back identically. */
export function saveAdapterFile(
  path: string,
  net: AdapterNetwork | AdapterModule[],
  o: { dtype?: SaveDType; metadata?: Record<string, string> } = {},
): void {
  const adapters = Array.isArray(net) ? net : net.adapters;
  const tensors = adapterTensors(adapters, o.dtype);
  try {
    writeChecked(path, tensors, o.metadata ?? {});
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

/** safetensors.save with the sshs hashes added, then a bit-exact read-back check. */
export function writeChecked(path: string, tensors: Map<string, Tensor>, metadata: Record<string, string>): void {
  const meta = { ...metadata, ...sshsHashes(tensors, metadata) };
  safetensors.save(path, tensors, meta);
  const back = safetensors.load(path);
  try {
    const problems: string[] = [];
    for (const [k, t] of tensors) {
      const b = back.get(k);
      if (!b) problems.push(`${k} missing`);
      else if (b.dtype !== t.dtype || b.shape.join() !== t.shape.join())
        problems.push(`${k}: ${b.dtype}[${b.shape}] vs ${t.dtype}[${t.shape}]`);
      else if (!Buffer.from(b.data().buffer).equals(Buffer.from(t.contiguous().data().buffer))) problems.push(`${k}: bytes differ`);
    }
    if (back.size !== tensors.size) problems.push(`${back.size} tensors read back, ${tensors.size} written`);
    if (problems.length) throw new Error(`${path}: the saved file does not read back as written: ${problems.slice(0, 5).join('; ')}`);
  } finally {
    back.dispose();
  }
}

export interface AdapterFile {
  path: string;
  metadata: Record<string, string>;
  /** lora_name → suffix → tensor (split at the first '.', as A1111 does). */
  modules: Map<string, Map<string, Tensor>>;
  dispose(): void;
}

export function readAdapterFile(path: string): AdapterFile {
  const f = safetensors.load(path);
  const modules = new Map<string, Map<string, Tensor>>();
  for (const [key, t] of f) {
    const i = key.indexOf('.');
    const name = i < 0 ? key : key.slice(0, i);
    const suffix = i < 0 ? '' : key.slice(i + 1);
    let m = modules.get(name);
    if (!m) modules.set(name, (m = new Map()));
    m.set(suffix, t);
  }
  return { path, metadata: f.metadata, modules, dispose: () => f.dispose() };
}

export interface NetworkLoadReport {
  missing: string[];
  unexpected: string[];
  mismatched: string[];
}

/** Human-readable summary naming the keys (first few of each kind). */
export function formatLoadReport(r: NetworkLoadReport, source: string): string {
  const part = (label: string, keys: string[]) =>
    keys.length ? `${keys.length} ${label}: ${keys.slice(0, 8).join(', ')}${keys.length > 8 ? ', …' : ''}` : '';
  const parts = [
    part('missing (the network has them, the file does not)', r.missing),
    part('unknown (in the file, no such module or tensor)', r.unexpected),
    part('of another shape', r.mismatched),
  ].filter(Boolean);
  return parts.length ? `${source}: ${parts.join('; ')}` : `${source}: all keys loaded`;
}

/** Loads a file into a built network; reports (or with strict, throws on) every key that does not fit. */
export function loadIntoNetwork(net: AdapterNetwork, path: string, o: { strict?: boolean } = {}): NetworkLoadReport {
  const file = readAdapterFile(path);
  try {
    const report: NetworkLoadReport = { missing: [], unexpected: [], mismatched: [] };
    const byName = new Map(net.adapters.map((a) => [a.loraName, a]));
    for (const a of net.adapters) {
      const src = file.modules.get(a.loraName);
      if (!src) {
        report.missing.push(...[...a.fileTensors().keys()].map((k) => `${a.loraName}.${k}`));
        continue;
      }
      const r = loadAdapterTensors(a, src, `${a.loraName}.`);
      report.missing.push(...r.missing);
      report.unexpected.push(...r.unexpected);
      report.mismatched.push(...r.mismatched);
    }
    for (const [name, m] of file.modules) if (!byName.has(name)) report.unexpected.push(...[...m.keys()].map((k) => `${name}.${k}`));
    if (o.strict && (report.missing.length || report.unexpected.length || report.mismatched.length))
      throw new Error(formatLoadReport(report, path));
    return report;
  } finally {
    file.dispose();
  }
}
