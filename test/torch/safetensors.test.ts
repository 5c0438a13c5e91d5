// safetensors: round trips of every dtype, the golden files against an independent parse, and
// 1,000 random corruptions that must each end in a clear error or a correct load.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { safetensors, torch } from '../../src/index.ts';
import { goldenDir } from '../helpers/golden.ts';

const dir = mkdtempSync(join(tmpdir(), 'lyco-st-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const BYTES: Record<string, number> = { BOOL: 1, U8: 1, I8: 1, I16: 2, I32: 4, I64: 8, F16: 2, BF16: 2, F32: 4, F64: 8 };
const NAMES: Record<string, string> = {
  BOOL: 'bool',
  U8: 'uint8',
  I8: 'int8',
  I16: 'int16',
  I32: 'int32',
  I64: 'int64',
  F16: 'float16',
  BF16: 'bfloat16',
  F32: 'float32',
  F64: 'float64',
};

/** An independent reader: header JSON plus the raw bytes of each tensor. */
function parseIndependently(buf: Buffer) {
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const { __metadata__: metadata = {}, ...tensors } = header;
  const out = new Map<string, { dtype: string; shape: number[]; bytes: Buffer }>();
  for (const [name, e] of Object.entries(tensors as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>)) {
    out.set(name, { dtype: e.dtype, shape: e.shape, bytes: buf.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]) });
  }
  return { metadata, tensors: out };
}

function assertMatchesFile(path: string, loaded: safetensors.SafetensorsFile) {
  const ref = parseIndependently(readFileSync(path));
  assert.deepEqual(loaded.metadata, ref.metadata);
  assert.deepEqual([...loaded.keys()].sort(), [...ref.tensors.keys()].sort());
  for (const [name, r] of ref.tensors) {
    const t = loaded.get(name)!;
    assert.equal(t.dtype, NAMES[r.dtype], name);
    assert.deepEqual(t.shape, r.shape, name);
    const d = t.data();
    assert.ok(Buffer.from(d.buffer, d.byteOffset, d.byteLength).equals(r.bytes), `${name}: values differ`);
  }
}

test('round trip of every dtype, 0-dim and empty tensors, metadata', () => {
  torch.scope(() => {
    const tensors: Record<string, torch.Tensor> = {};
    for (const dtype of ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8'] as const) {
      tensors[`t_${dtype}`] = torch.arange(0, 12, 1, { dtype }).reshape(3, 4);
    }
    tensors.t_bool = torch.tensor([true, false, true]);
    tensors.scalar = torch.tensor(new Float32Array([3.5]), { shape: [] });
    tensors.empty = torch.zeros([0, 4]);
    const meta = { ss_network_module: 'lycoris.kohya', ss_network_dim: '4', note: 'ünïcode ✓' };
    const p = join(dir, 'all.safetensors');
    safetensors.save(p, tensors, meta);
    const buf = readFileSync(p);
    assert.equal(Number(buf.readBigUInt64LE(0)) % 8, 0, 'header padded to 8 bytes');
    const f = safetensors.load(p);
    assert.deepEqual(f.metadata, meta);
    for (const [k, t] of Object.entries(tensors)) {
      const g = f.get(k)!;
      assert.equal(g.dtype, t.dtype, k);
      assert.deepEqual(g.shape, t.shape, k);
      assert.deepEqual(g.toArray(), t.toArray(), k);
    }
    assertMatchesFile(p, f);
    // loaded tensors are private copy-on-write views: editing one leaves the file unchanged
    f.get('t_float32')!.fill_(7);
    assert.ok(readFileSync(p).equals(buf));
  });
});

test('a failed save leaves the existing file untouched and names the path', () => {
  torch.scope(() => {
    const p = join(dir, 'keep.safetensors');
    safetensors.save(p, { a: torch.ones([2]) });
    const before = readFileSync(p);
    const gone = torch.ones([2]);
    gone.dispose();
    assert.throws(() => safetensors.save(p, { a: torch.zeros([2]), b: gone }), /cannot write .*keep\.safetensors: tensor 'b' is disposed/);
    assert.ok(readFileSync(p).equals(before));
    assert.deepEqual(
      readdirSync(dir).filter((n) => n.includes('.tmp')),
      [],
    );
    assert.throws(() => safetensors.save(join(dir, 'no/such/dir/x.safetensors'), { a: torch.ones([1]) }), /folder does not exist/);
    if (process.getuid?.() !== 0) {
      const ro = mkdtempSync(join(dir, 'ro-'));
      chmodSync(ro, 0o500);
      assert.throws(() => safetensors.save(join(ro, 'x.safetensors'), { a: torch.ones([1]) }), /permission denied/);
    }
  });
});

function* walk(d: string): Generator<string> {
  for (const n of readdirSync(d)) {
    const p = join(d, n);
    if (statSync(p).isDirectory()) yield* walk(p);
    else if (n.endsWith('.safetensors')) yield p;
  }
}

test('every golden .safetensors loads with the right names, shapes, dtypes, values, metadata', (t) => {
  const g = goldenDir(t);
  if (!g) return;
  let n = 0;
  for (const p of walk(g)) {
    const f = safetensors.load(p);
    try {
      assertMatchesFile(p, f);
    } finally {
      f.dispose();
    }
    n++;
  }
  assert.ok(n > 50, `only ${n} golden files found`);
});

// Deterministic PRNG (mulberry32) so a failing mutation can be replayed from its index.
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('1,000 random corruptions each end in a clear error or a correct load', { timeout: 120_000 }, (t) => {
  const valid = join(dir, 'valid.safetensors');
  torch.scope(() => {
    safetensors.save(
      valid,
      {
        'lora_unet_x.lora_down.weight': torch.randn([4, 8]),
        'lora_unet_x.alpha': torch.tensor(new Float32Array([4]), { shape: [] }),
        'b.idx': torch.arange(0, 6, 1, { dtype: 'int64' }),
        h: torch.ones([3], { dtype: 'float16' }),
      },
      { ss_network_dim: '4' },
    );
  });
  const orig = readFileSync(valid);
  const headerLen = Number(orig.readBigUInt64LE(0));
  const rand = prng(1);
  const pick = (n: number) => Math.floor(rand() * n);
  const p = join(dir, 'mutant.safetensors');
  let errors = 0;
  let loads = 0;
  for (let i = 0; i < 1000; i++) {
    let m = Buffer.from(orig);
    switch (i % 5) {
      case 0: // truncation
        m = m.subarray(0, pick(m.length));
        break;
      case 1: // bit flips in the length or header
        for (let k = 0; k < 1 + pick(3); k++) {
          const at = pick(8 + headerLen);
          m[at] ^= 1 << pick(8);
        }
        break;
      case 2: {
        // bad offsets: rewrite one number inside data_offsets
        const text = m.subarray(8, 8 + headerLen).toString('latin1');
        const nums = [...text.matchAll(/"data_offsets":\[(\d+),(\d+)\]/g)];
        const which = nums[pick(nums.length)];
        const delta = [-1, 1, 8, -8, 1e6, 3][pick(6)];
        const repl = `"data_offsets":[${Math.max(0, Number(which[1]) + (rand() < 0.5 ? delta : 0))},${Number(which[2]) + (rand() < 0.5 ? delta : 0)}]`;
        const nt = text.replace(which[0], repl);
        const hb = Buffer.from(nt, 'latin1');
        const len = Buffer.alloc(8);
        len.writeBigUInt64LE(BigInt(hb.length));
        m = Buffer.concat([len, hb, m.subarray(8 + headerLen)]);
        break;
      }
      case 3: // random header length values
        m.writeBigUInt64LE([0n, 1n, 7n, BigInt(headerLen - 1), BigInt(headerLen + 1), 2n ** 63n, BigInt(1e8) + 1n][pick(7)], 0);
        break;
      case 4: // random bytes anywhere, including the data
        for (let k = 0; k < 4; k++) m[pick(m.length)] = pick(256);
        break;
    }
    writeFileSync(p, m);
    let f: safetensors.SafetensorsFile | undefined;
    try {
      f = safetensors.load(p);
    } catch (e) {
      assert.ok(e instanceof safetensors.SafetensorsError, `mutation ${i}: ${(e as Error).stack}`);
      assert.ok((e as Error).message.startsWith(p), `mutation ${i}: message does not name the file`);
      assert.ok(!(e as Error).message.includes('\n'), `mutation ${i}: message is more than one line`);
      errors++;
      continue;
    }
    assertMatchesFile(p, f);
    f.dispose();
    loads++;
  }
  assert.equal(errors + loads, 1000);
  assert.ok(errors > 500, `only ${errors} mutations were rejected`);
  t.diagnostic(`corruption fuzz: ${errors} clear errors, ${loads} correct loads`);
});

void BYTES;

test('releaseMappedPages: a loaded tensor gives back its pages and still reads the file', () => {
  const path = join(dir, 'pages.safetensors');
  torch.scope(() => {
    safetensors.save(path, { w: torch.arange(0, 4 * 1024 * 1024).to('float32'), b: torch.ones([3]) });
    const f = safetensors.load(path);
    const w = f.get('w') as torch.Tensor;
    const before = w.sum().item();
    const rss = process.memoryUsage().rss;
    assert.equal(safetensors.releaseMappedPages(w), true);
    // 16 MiB were resident after the sum; most of them are gone now (other allocations may come and go).
    assert.ok(process.memoryUsage().rss < rss - 8 * 2 ** 20, 'RSS fell by at least 8 MiB');
    assert.equal(w.sum().item(), before); // read again from the file
    assert.equal(safetensors.releaseMappedPages(torch.ones([4])), false);
    f.dispose();
  });
});
