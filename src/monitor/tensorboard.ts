// A TensorBoard event-file writer (what torch.utils.tensorboard.SummaryWriter writes for
// sd-scripts): scalars, PNG images, histograms and text, framed as TFRecords.
//
// File: `events.out.tfevents.<secs>.<host>.<pid>`; each record is
// u64le length | u32le masked_crc32c(length) | Event bytes | u32le masked_crc32c(Event bytes).
// Event (tensorboard/compat/proto/event.proto): wall_time double = 1, step int64 = 2,
// file_version string = 3 (the first record, "brain.Event:2"), summary Summary = 5.
// Summary.Value (summary.proto): tag = 1, simple_value float = 2, image = 4, histo = 5,
// tensor = 8, metadata = 9.
import { closeSync, existsSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Tensor } from '../torch/index.ts';
import { maskedCrc32c } from './crc32c.ts';
import { ProtoWriter } from './proto.ts';

/** One TFRecord: length and data, each followed by its masked CRC32C. */
export function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/** TensorFlow's name: seconds zero-padded to 10 digits, host name, process id. */
export function eventFileName(secs: number, host = hostname(), pid = process.pid): string {
  return `events.out.tfevents.${String(Math.floor(secs)).padStart(10, '0')}.${host}.${pid}`;
}

/**
 * The run folder sd-scripts logs into: `<logging_dir>/<log_prefix><YYYYmmddHHMMSS>/<tracker>`,
 * local time, tracker `network_train` unless --log_tracker_name is given.
 */
export function sdScriptsLogDir(loggingDir: string, logPrefix = '', trackerName = 'network_train', date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${date.getFullYear()}${p(date.getMonth() + 1)}${p(date.getDate())}${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`;
  return join(loggingDir, `${logPrefix}${stamp}`, trackerName);
}

// ---- Summary.Value builders

function scalarValue(tag: string, value: number): ProtoWriter {
  return new ProtoWriter().string(1, tag).float(2, value);
}

export interface ImageInfo {
  width: number;
  height: number;
  /** Summary.Image colorspace: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. */
  channels: 1 | 2 | 3 | 4;
}

function imageValue(tag: string, png: Uint8Array, info: ImageInfo): ProtoWriter {
  const image = new ProtoWriter().varint(1, info.height).varint(2, info.width).varint(3, info.channels).bytes(4, png);
  return new ProtoWriter().string(1, tag).message(4, image);
}

/** Histogram statistics and uniform buckets (bucket_limit = right edges; the last is the max). */
export interface Histogram {
  min: number;
  max: number;
  num: number;
  sum: number;
  sumSquares: number;
  bucketLimit: number[];
  bucket: number[];
}

/** Uniform buckets over [min, max], the last one closed as numpy's; non-finite values are left out. */
export function histogram(values: ArrayLike<number>, bins = 30): Histogram {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let num = 0;
  let sum = 0;
  let sumSquares = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
    num++;
    sum += v;
    sumSquares += v * v;
  }
  if (num === 0) return { min: 0, max: 0, num: 0, sum: 0, sumSquares: 0, bucketLimit: [], bucket: [] };
  if (min === max) return { min, max, num, sum, sumSquares, bucketLimit: [max], bucket: [num] };
  const width = (max - min) / bins;
  const bucket = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    bucket[Math.min(bins - 1, Math.floor((v - min) / width))]++;
  }
  const bucketLimit = bucket.map((_, i) => (i === bins - 1 ? max : min + width * (i + 1)));
  return { min, max, num, sum, sumSquares, bucketLimit, bucket };
}

function histogramValue(tag: string, h: Histogram): ProtoWriter {
  const histo = new ProtoWriter()
    .double(1, h.min)
    .double(2, h.max)
    .double(3, h.num)
    .double(4, h.sum)
    .double(5, h.sumSquares)
    .packedDoubles(6, h.bucketLimit)
    .packedDoubles(7, h.bucket);
  return new ProtoWriter().string(1, tag).message(5, histo);
}

const DT_STRING = 7;

/** As torch's add_text: tag `<tag>/text_summary`, plugin "text", a 1-element DT_STRING tensor. */
function textValue(tag: string, text: string): ProtoWriter {
  const pluginData = new ProtoWriter().string(1, 'text'); // content = TextPluginData{version: 0}, empty
  const metadata = new ProtoWriter().message(1, pluginData);
  const shape = new ProtoWriter().message(2, new ProtoWriter().varint(1, 1));
  const tensor = new ProtoWriter().varint(1, DT_STRING).message(2, shape).string(8, text);
  return new ProtoWriter().string(1, `${tag}/text_summary`).message(9, metadata).message(8, tensor);
}

/** Raw 8-bit pixels (HWC, row-major) to PNG bytes. */
export async function encodePng(pixels: Uint8Array, width: number, height: number, channels: 1 | 2 | 3 | 4 = 3): Promise<Uint8Array> {
  if (pixels.length !== width * height * channels) {
    throw new Error(`encodePng: ${pixels.length} bytes is not ${width}x${height}x${channels}`);
  }
  return sharp(pixels, { raw: { width, height, channels } }).png().toBuffer();
}

export interface SummaryWriterOptions {
  /** Write queued events at least this often (torch's default: 120 s). */
  flushSecs?: number;
  /** Write when this many events are queued (torch's default: 10). */
  maxQueue?: number;
  /** Appended to the file name. */
  filenameSuffix?: string;
  /** Clock in milliseconds (tests). */
  now?: () => number;
}

/**
 * Writes one event file in `logDir`. Events are queued and written when maxQueue are waiting,
 * when flushSecs have passed since the last write (checked on every add, since a synchronous
 * training loop starves timers, and by an unref'd timer when idle), on flush() and on close().
 */
export class SummaryWriter {
  readonly logDir: string;
  readonly path: string;
  private fd: number | null;
  private queue: Uint8Array[] = [];
  private lastFlush: number;
  private readonly flushMs: number;
  private readonly maxQueue: number;
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout;

  constructor(logDir: string, opts: SummaryWriterOptions = {}) {
    this.logDir = logDir;
    this.now = opts.now ?? Date.now;
    this.flushMs = (opts.flushSecs ?? 120) * 1000;
    this.maxQueue = opts.maxQueue ?? 10;
    mkdirSync(logDir, { recursive: true });
    const t = this.now();
    const base = eventFileName(t / 1000) + (opts.filenameSuffix ?? '');
    let path = join(logDir, base);
    for (let n = 1; existsSync(path); n++) path = join(logDir, `${base}.${n}`);
    this.path = path;
    this.fd = openSync(path, 'wx');
    this.lastFlush = t;
    this.write(
      new ProtoWriter()
        .double(1, t / 1000)
        .varint(2, 0)
        .string(3, 'brain.Event:2'),
    );
    this.flush();
    this.timer = setInterval(() => this.flush(), Math.max(1000, this.flushMs));
    this.timer.unref();
  }

  private write(event: ProtoWriter): void {
    if (this.fd === null) throw new Error(`SummaryWriter: ${this.path} is closed`);
    this.queue.push(frameRecord(event.finish()));
    if (this.queue.length >= this.maxQueue || this.now() - this.lastFlush >= this.flushMs) this.flush();
  }

  private summary(value: ProtoWriter, step: number, wallTime?: number): void {
    const wt = wallTime ?? this.now() / 1000;
    const summary = new ProtoWriter().message(1, value);
    this.write(new ProtoWriter().double(1, wt).varint(2, step).message(5, summary));
  }

  /** A scalar, stored as a float32 simple_value as torch's add_scalar does. */
  addScalar(tag: string, value: number, step: number, wallTime?: number): void {
    this.summary(scalarValue(tag, value), step, wallTime);
  }

  /** An encoded image (PNG bytes, see encodePng). */
  addImage(tag: string, png: Uint8Array, info: ImageInfo, step: number, wallTime?: number): void {
    this.summary(imageValue(tag, png, info), step, wallTime);
  }

  /** Raw 8-bit HWC pixels, encoded to PNG first. */
  async addImagePixels(tag: string, pixels: Uint8Array, info: ImageInfo, step: number, wallTime?: number): Promise<void> {
    const png = await encodePng(pixels, info.width, info.height, info.channels);
    this.addImage(tag, png, info, step, wallTime);
  }

  /** A histogram of numbers or of a tensor's elements. */
  addHistogram(tag: string, values: ArrayLike<number> | Tensor, step: number, bins = 30, wallTime?: number): void {
    const data = isTensor(values) ? values.toArray() : values;
    this.summary(histogramValue(tag, histogram(data, bins)), step, wallTime);
  }

  /** Markdown text (TensorBoard's Text tab). */
  addText(tag: string, text: string, step: number, wallTime?: number): void {
    this.summary(textValue(tag, text), step, wallTime);
  }

  flush(): void {
    if (this.fd === null) return;
    for (const rec of this.queue) writeSync(this.fd, rec);
    this.queue = [];
    this.lastFlush = this.now();
  }

  close(): void {
    if (this.fd === null) return;
    clearInterval(this.timer);
    this.flush();
    closeSync(this.fd);
    this.fd = null;
  }

  get closed(): boolean {
    return this.fd === null;
  }
}

function isTensor(v: unknown): v is Tensor {
  return typeof v === 'object' && v !== null && typeof (v as Tensor).toArray === 'function' && 'shape' in v;
}
