// Full-size checkpoints that cost no disk or memory: a safetensors header listing every tensor
// of golden/models/conversion's key lists (shapes as real files have them), then a sparse hole
// as long as the data would be. Readers see zeros; inspection only ever reads the header.
import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

type Row = [string, string, number[], number[], string];
type Entry = { shape: number[]; dtype: 'F16' | 'I64' };
type KeysFile = { components: Record<string, { config: Record<string, unknown>; rows: Row[] }> };

const readKeys = (golden: string, model: string): KeysFile =>
  JSON.parse(readFileSync(join(golden, 'models', 'conversion', `${model}_keys.json`), 'utf8'));

/** A safetensors file whose data section is a hole. */
export function writeSparseSafetensors(out: string, tensors: Map<string, Entry>): void {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const name of [...tensors.keys()].sort()) {
    const { shape, dtype } = tensors.get(name)!;
    const bytes = shape.reduce((a, b) => a * b, 1) * (dtype === 'F16' ? 2 : 8);
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const fd = openSync(out, 'w');
  try {
    writeSync(fd, len);
    writeSync(fd, json);
    ftruncateSync(fd, 8 + Buffer.byteLength(json) + offset);
  } finally {
    closeSync(fd);
  }
}

const entry = (name: string, shape: number[]): Entry => ({ shape, dtype: name.endsWith('position_ids') ? 'I64' : 'F16' });

/** A single-file (LDM) fp16 checkpoint of `model` (sd15, sd2, sdxl). */
export function writeSparseCheckpoint(golden: string, model: 'sd15' | 'sd2' | 'sdxl', out: string): void {
  const tensors = new Map<string, Entry>();
  for (const c of Object.values(readKeys(golden, model).components))
    for (const [ldm, , , shape] of c.rows) tensors.set(ldm, entry(ldm, shape));
  writeSparseSafetensors(out, tensors);
}

/** A diffusers folder (component/config.json + weights) of `model`. */
export function writeSparseDiffusers(golden: string, model: 'sd15' | 'sd2' | 'sdxl', dir: string): void {
  for (const [name, c] of Object.entries(readKeys(golden, model).components)) {
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(join(dir, name, 'config.json'), JSON.stringify(c.config));
    const tensors = new Map<string, Entry>(c.rows.map(([, key, shape]) => [key, entry(key, shape)]));
    const file = name.startsWith('text_encoder') ? 'model.safetensors' : 'diffusion_pytorch_model.safetensors';
    writeSparseSafetensors(join(dir, name, file), tensors);
  }
}
