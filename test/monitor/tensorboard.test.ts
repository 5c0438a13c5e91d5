// The TensorBoard writer's files read back by an independent reader: record framing parsed here,
// both CRCs checked with a bit-by-bit CRC-32C written in this test (itself checked against the
// standard vector crc32c("123456789") = e3069283), and every Event decoded with protobufjs 8
// (reflection from the field numbers of tensorboard/compat/proto/{event,summary,histogram,
// tensor,tensor_shape}.proto, restated below), not with lyco's encoder. Images are decoded back
// to pixels with sharp.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import sharp from 'sharp';
import { crc32c, maskedCrc32c } from '../../src/monitor/crc32c.ts';
import { stepScalars } from '../../src/monitor/tags.ts';
import { encodePng, eventFileName, histogram, SummaryWriter, sdScriptsLogDir } from '../../src/monitor/tensorboard.ts';
import * as torch from '../../src/torch/index.ts';

const PROTO = `
syntax = "proto3";
package tb;
message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what { string file_version = 3; bytes graph_def = 4; Summary summary = 5; }
}
message PluginData { string plugin_name = 1; bytes content = 2; }
message SummaryMetadata { PluginData plugin_data = 1; string display_name = 2; }
message Image { int32 height = 1; int32 width = 2; int32 colorspace = 3; bytes encoded_image_string = 4; }
message HistogramProto {
  double min = 1; double max = 2; double num = 3; double sum = 4; double sum_squares = 5;
  repeated double bucket_limit = 6 [packed = true]; repeated double bucket = 7 [packed = true];
}
message Dim { int64 size = 1; string name = 2; }
message TensorShapeProto { repeated Dim dim = 2; bool unknown_rank = 3; }
message TensorProto { int32 dtype = 1; TensorShapeProto tensor_shape = 2; repeated bytes string_val = 8; }
message Value {
  string tag = 1;
  SummaryMetadata metadata = 9;
  oneof value { float simple_value = 2; Image image = 4; HistogramProto histo = 5; TensorProto tensor = 8; }
}
message Summary { repeated Value value = 1; }
`;
const EventType = protobuf.parse(PROTO).root.lookupType('tb.Event');

/** CRC-32C one bit at a time (Castagnoli, reflected), independent of the table in crc32c.ts. */
function bitwiseCrc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
const mask = (c: number) => ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) % 2 ** 32;

interface Decoded {
  wallTime: number;
  step: number;
  fileVersion?: string;
  summary?: {
    value: {
      tag: string;
      simpleValue?: number;
      image?: { height: number; width: number; colorspace: number; encodedImageString: Uint8Array };
      histo?: { min: number; max: number; num: number; sum: number; sumSquares: number; bucketLimit: number[]; bucket: number[] };
      tensor?: { dtype: number; tensorShape: { dim: { size: number }[] }; stringVal: Uint8Array[] };
      metadata?: { pluginData: { pluginName: string } };
    }[];
  };
}

/** Splits a TFRecord file, checking both masked CRCs of every record. */
function readEvents(path: string): Decoded[] {
  const buf = readFileSync(path);
  const events: Decoded[] = [];
  let at = 0;
  while (at < buf.length) {
    assert.ok(at + 12 <= buf.length, 'truncated record header');
    const lenBytes = buf.subarray(at, at + 8);
    const len = Number(buf.readBigUInt64LE(at));
    assert.equal(buf.readUInt32LE(at + 8), mask(bitwiseCrc32c(lenBytes)), `length CRC of the record at byte ${at}`);
    const data = buf.subarray(at + 12, at + 12 + len);
    assert.equal(buf.readUInt32LE(at + 12 + len), mask(bitwiseCrc32c(data)), `data CRC of the record at byte ${at}`);
    const msg = EventType.decode(data);
    events.push(EventType.toObject(msg, { longs: Number, bytes: Uint8Array, defaults: true }) as unknown as Decoded);
    at += 12 + len + 4;
  }
  return events;
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'lyco-tb-'));
}

test('crc32c: the standard check value, the bitwise reference, and the TFRecord mask', () => {
  const ascii = new TextEncoder().encode('123456789');
  assert.equal(crc32c(ascii), 0xe3069283);
  assert.equal(bitwiseCrc32c(ascii), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919 + 13) & 0xff);
  assert.equal(crc32c(data), bitwiseCrc32c(data));
  assert.equal(maskedCrc32c(data), mask(bitwiseCrc32c(data)));
});

test('scalars, image, histogram and text decode with protobufjs, CRCs valid', async () => {
  const dir = tmp();
  try {
    let clock = 1_700_000_000_123;
    const w = new SummaryWriter(dir, { now: () => clock });
    assert.equal(w.path, join(dir, eventFileName(1_700_000_000, hostname(), process.pid)));
    assert.match(w.path, /events\.out\.tfevents\.1700000000\./);
    w.addScalar('loss/current', 0.123456789, 1);
    clock += 500;
    w.addScalar('lr/d*lr', 3.5e-5, 1);
    w.addScalar('loss/current', -2, 2 ** 40, 42.5);
    const pixels = Uint8Array.from({ length: 3 * 4 * 3 }, (_, i) => (i * 37) & 0xff); // 4 wide, 3 high, RGB
    await w.addImagePixels('sample/0', pixels, { width: 4, height: 3, channels: 3 }, 5);
    const values = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, Number.NaN];
    w.addHistogram('weights/lokr_w1', values, 6, 5);
    w.addHistogram('weights/tensor', torch.tensor([1, 1, 1]), 6);
    w.addText('config', 'lr: **1.0**, Prodigy é', 7);
    w.close();
    assert.ok(w.closed);
    assert.throws(() => w.addScalar('late', 1, 8), /closed/);

    const ev = readEvents(w.path);
    assert.equal(ev.length, 8);
    assert.equal(ev[0].fileVersion, 'brain.Event:2');
    assert.equal(ev[0].wallTime, 1_700_000_000.123);
    const [s1, s2, s3] = ev.slice(1, 4).map((e) => e.summary!.value[0]);
    assert.deepEqual([s1.tag, s1.simpleValue, ev[1].step], ['loss/current', Math.fround(0.123456789), 1]);
    assert.deepEqual([s2.tag, s2.simpleValue, ev[2].wallTime], ['lr/d*lr', Math.fround(3.5e-5), 1_700_000_000.623]);
    assert.deepEqual([s3.simpleValue, ev[3].step, ev[3].wallTime], [-2, 2 ** 40, 42.5]);

    const img = ev[4].summary!.value[0];
    assert.equal(img.tag, 'sample/0');
    assert.deepEqual([img.image!.height, img.image!.width, img.image!.colorspace], [3, 4, 3]);
    const back = await sharp(img.image!.encodedImageString).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([back.info.width, back.info.height, back.info.channels], [4, 3, 3]);
    assert.deepEqual(new Uint8Array(back.data), pixels);

    const h = ev[5].summary!.value[0].histo!;
    assert.deepEqual([h.min, h.max, h.num, h.sum, h.sumSquares], [0, 10, 11, 55, 385]);
    assert.deepEqual(h.bucketLimit, [2, 4, 6, 8, 10]);
    assert.deepEqual(h.bucket, [2, 2, 2, 2, 3]); // [0,2) [2,4) [4,6) [6,8) [8,10], NaN left out
    const ht = ev[6].summary!.value[0].histo!;
    assert.deepEqual([ht.num, ht.bucketLimit, ht.bucket], [3, [1], [3]]);

    const text = ev[7].summary!.value[0];
    assert.equal(text.tag, 'config/text_summary');
    assert.equal(text.metadata!.pluginData.pluginName, 'text');
    assert.equal(text.tensor!.dtype, 7); // DT_STRING
    assert.deepEqual(
      text.tensor!.tensorShape.dim.map((d) => d.size),
      [1],
    );
    assert.equal(new TextDecoder().decode(text.tensor!.stringVal[0]), 'lr: **1.0**, Prodigy é');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('queued events are written at maxQueue, after flushSecs, on flush() and on close()', () => {
  const dir = tmp();
  try {
    let clock = 1_000_000;
    const w = new SummaryWriter(dir, { now: () => clock, flushSecs: 10, maxQueue: 3 });
    const size = () => statSync(w.path).size;
    const header = size();
    assert.ok(header > 0, 'the file_version event is on disk at once');
    w.addScalar('a', 1, 1);
    w.addScalar('a', 2, 2);
    assert.equal(size(), header, 'two queued events are not written yet');
    w.addScalar('a', 3, 3);
    const afterQueue = size();
    assert.ok(afterQueue > header, 'the third event fills the queue and flushes');
    w.addScalar('a', 4, 4);
    clock += 9_999;
    w.addScalar('a', 5, 5);
    assert.equal(size(), afterQueue, 'before flushSecs nothing more is written');
    clock += 1;
    w.addScalar('a', 6, 6);
    const afterTime = size();
    assert.ok(afterTime > afterQueue, 'an add 10 s after the last write flushes');
    w.addScalar('a', 7, 7);
    w.flush();
    assert.ok(size() > afterTime);
    w.addScalar('a', 8, 8);
    w.close();
    const steps = readEvents(w.path)
      .slice(1)
      .map((e) => e.step);
    assert.deepEqual(steps, [1, 2, 3, 4, 5, 6, 7, 8]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two writers in one folder and second get distinct files; sd-scripts run folder name', () => {
  const dir = tmp();
  try {
    const a = new SummaryWriter(join(dir, 'run'), { now: () => 5_000_000_000 });
    const b = new SummaryWriter(join(dir, 'run'), { now: () => 5_000_000_000 });
    assert.notEqual(a.path, b.path);
    a.close();
    b.close();
    assert.equal(readdirSync(join(dir, 'run')).length, 2);
    assert.equal(eventFileName(12.7, 'host', 99), 'events.out.tfevents.0000000012.host.99');
    const d = sdScriptsLogDir('logs', 'ia3-', undefined, new Date(2024, 0, 2, 3, 4, 5));
    assert.equal(d, join('logs', 'ia3-20240102030405', 'network_train'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('histogram edge cases and PNG size check', async () => {
  assert.deepEqual(histogram([]).bucket, []);
  assert.deepEqual(histogram([Number.POSITIVE_INFINITY]).num, 0);
  const h = histogram([-1, 1], 2);
  assert.deepEqual(
    [h.bucketLimit, h.bucket],
    [
      [0, 1],
      [1, 1],
    ],
  );
  await assert.rejects(encodePng(new Uint8Array(5), 2, 2, 3), /not 2x2x3/);
});

test('stepScalars: sd-scripts tag names, d*lr per group and the 2023 lr/d*lr', () => {
  const tags = stepScalars({
    lossCurrent: 0.1,
    lossAverage: 0.2,
    logs: { lr: [1, 1], d: 3e-4, dLr: [3e-4, 3e-4] },
    groupNames: ['textencoder', 'unet'],
  });
  assert.deepEqual(tags, {
    'loss/current': 0.1,
    'loss/average': 0.2,
    'lr/textencoder': 1,
    'lr/d*lr/textencoder': 3e-4,
    'lr/unet': 1,
    'lr/d*lr/unet': 3e-4,
    'lr/d*lr': 3e-4,
  });
  assert.deepEqual(Object.keys(stepScalars({ lossCurrent: 1, lossAverage: 1, logs: { lr: [1e-4] }, groupNames: ['unet'] })), [
    'loss/current',
    'loss/average',
    'lr/unet',
  ]);
  assert.throws(() => stepScalars({ lossCurrent: 1, lossAverage: 1, logs: { lr: [1, 1] }, groupNames: ['unet'] }), /2 parameter groups/);
});
