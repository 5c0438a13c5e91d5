// Reads scalars back from the TensorBoard event files the trainer wrote, so the demo's plot shows
// what TensorBoard shows. Minimal protobuf walk: Event.step = 2 (varint), Event.summary = 5,
// Summary.value = 1, Value.tag = 1 (string), Value.simple_value = 2 (float32).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Series = Map<string, { step: number; value: number }[]>;

interface Field {
  no: number;
  wire: number;
  /** varint value, or the bytes of a length-delimited / fixed field */
  int?: number;
  bytes?: Uint8Array;
}

function* fields(b: Uint8Array): Generator<Field> {
  let at = 0;
  const varint = () => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const x = b[at++];
      v += (x & 0x7f) * mul;
      mul *= 128;
      if (x < 0x80) return v;
    }
  };
  while (at < b.length) {
    const key = varint();
    const no = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) yield { no, wire, int: varint() };
    else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      yield { no, wire, bytes: b.subarray(at, at + n) };
      at += n;
    } else if (wire === 2) {
      const n = varint();
      yield { no, wire, bytes: b.subarray(at, at + n) };
      at += n;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
}

/** Every scalar in `logDir`'s event files, by tag, in step order. */
export function readScalars(logDir: string): Series {
  const out: Series = new Map();
  for (const name of readdirSync(logDir).filter((n) => n.startsWith('events.out.tfevents'))) {
    const buf = readFileSync(join(logDir, name));
    for (let at = 0; at + 12 <= buf.length; ) {
      const len = Number(buf.readBigUInt64LE(at));
      const ev = buf.subarray(at + 12, at + 12 + len);
      at += 12 + len + 4;
      let step = 0;
      const values: { tag: string; value: number }[] = [];
      for (const f of fields(ev)) {
        if (f.no === 2 && f.wire === 0) step = f.int ?? 0;
        if (f.no !== 5 || !f.bytes) continue;
        for (const v of fields(f.bytes)) {
          if (v.no !== 1 || !v.bytes) continue;
          let tag = '';
          let value: number | undefined;
          for (const x of fields(v.bytes)) {
            if (x.no === 1 && x.bytes) tag = Buffer.from(x.bytes).toString('utf8');
            if (x.no === 2 && x.wire === 5 && x.bytes) value = Buffer.from(x.bytes).readFloatLE(0);
          }
          if (value !== undefined) values.push({ tag, value });
        }
      }
      for (const { tag, value } of values) {
        if (!out.has(tag)) out.set(tag, []);
        out.get(tag)?.push({ step, value });
      }
    }
  }
  for (const s of out.values()) s.sort((a, b) => a.step - b.step);
  return out;
}
