// sd-scripts' `sshs_*` hashes (spec §4.3): sshs_model_hash = sha256 of the safetensors data
// section; sshs_legacy_hash = first 8 hex of sha256 over bytes [1 MiB, 1 MiB + 64 KiB) of a
// serialisation carrying only the ss_* metadata (so e3b0c442 for any file under 1 MiB).
import { createHash } from 'node:crypto';
import type { Tensor } from '../torch/index.ts';

const ST_DTYPE: Record<string, string> = {
  float16: 'F16',
  bfloat16: 'BF16',
  float32: 'F32',
  float64: 'F64',
  int64: 'I64',
  int32: 'I32',
  uint8: 'U8',
  int8: 'I8',
  int16: 'I16',
  bool: 'BOOL',
};
const SIZE: Record<string, number> = { F16: 2, BF16: 2, F32: 4, F64: 8, I64: 8, I32: 4, U8: 1, I8: 1, I16: 2, BOOL: 1 };

/** The tensors in the order lyco's safetensors writer lays them out (element size desc, then name). */
export function dataOrder(tensors: Map<string, Tensor>): [string, Tensor][] {
  return [...tensors].sort(([an, a], [bn, b]) => SIZE[ST_DTYPE[b.dtype]] - SIZE[ST_DTYPE[a.dtype]] || (an < bn ? -1 : an > bn ? 1 : 0));
}

function bytesOf(t: Tensor): Buffer {
  const a = t.contiguous().data();
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

export function sshsHashes(
  tensors: Map<string, Tensor>,
  metadata: Record<string, string>,
): { sshs_model_hash: string; sshs_legacy_hash: string } {
  const order = dataOrder(tensors);
  const header: Record<string, unknown> = {};
  const ss = Object.fromEntries(Object.entries(metadata).filter(([k]) => k.startsWith('ss_')));
  if (Object.keys(ss).length) header.__metadata__ = ss;
  let off = 0;
  for (const [name, t] of order) {
    const st = ST_DTYPE[t.dtype];
    const n = t.shape.reduce((p, x) => p * x, 1) * SIZE[st];
    header[name] = { dtype: st, shape: t.shape, data_offsets: [off, off + n] };
    off += n;
  }
  const headerLen = Math.ceil(Buffer.byteLength(JSON.stringify(header), 'utf8') / 8) * 8;
  const model = createHash('sha256');
  const legacy = createHash('sha256');
  const lo = 0x100000;
  const hi = 0x110000;
  let pos = 8 + headerLen; // file offset of the current tensor
  for (const [, t] of order) {
    const b = bytesOf(t);
    model.update(b);
    const s = Math.max(lo, pos);
    const e = Math.min(hi, pos + b.length);
    if (s < e) legacy.update(b.subarray(s - pos, e - pos));
    pos += b.length;
  }
  return { sshs_model_hash: model.digest('hex'), sshs_legacy_hash: legacy.digest('hex').slice(0, 8) };
}
