// A temp workspace for training tests: the tiny model, a generated dataset, a guide preset
// pasted as written, and a prompt file; plus a TensorBoard event reader built on protobufjs
// (independent of src/monitor's writer).
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { findPreset } from '../../src/config/index.ts';
import * as torch from '../../src/torch/index.ts';
import { TINY_ARGS, writeTinyDataset, writeTinyModel, writeTinySdxlModel } from './fixtures.ts';

// The tiny model gains nothing from intra-op threads, and test files run side by side: one
// thread each keeps them from spinning against each other.
torch.setNumThreads(1);

export interface Workspace {
  dir: string;
  model: string;
  data: string;
  config: string;
  prompts: string;
  out(name: string): string;
  cleanup(): void;
}

export async function workspace(
  preset: 'ia3' | 'lokr',
  o: { images?: number; repeats?: number; config?: string; sdxl?: boolean } = {},
): Promise<Workspace> {
  const dir = mkdtempSync(join(tmpdir(), 'lyco-train-'));
  const model = o.sdxl ? writeTinySdxlModel(join(dir, 'model')) : writeTinyModel(join(dir, 'model'));
  const data = await writeTinyDataset(join(dir, 'data'), { n: o.images ?? 3, repeats: o.repeats ?? 1 });
  const config = join(dir, 'config.json');
  writeFileSync(config, o.config ?? (findPreset(preset)?.text as string));
  const prompts = join(dir, 'prompts.txt');
  writeFileSync(prompts, '# preview\nsks, red cat --n blue --w 32 --h 32 --d 7 --l 5 --s 3\n');
  return { dir, model, data, config, prompts, out: (n) => join(dir, n), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The tiny-model overrides plus any extra sd-scripts options. */
export const tinyArgs = (...extra: string[]) => [...TINY_ARGS, ...extra];

const PROTO = `
syntax = "proto3";
package tb;
message Event { double wall_time = 1; int64 step = 2; oneof what { string file_version = 3; Summary summary = 5; } }
message Image { int32 height = 1; int32 width = 2; int32 colorspace = 3; bytes encoded_image_string = 4; }
message Value { string tag = 1; oneof value { float simple_value = 2; Image image = 4; } }
message Summary { repeated Value value = 1; }
`;
const EventType = protobuf.parse(PROTO).root.lookupType('tb.Event');

export interface Scalar {
  tag: string;
  step: number;
  value: number;
}

/** Every scalar (and image tag, value NaN) in the event files of a log folder, in file order. */
export function readScalars(logDir: string): { scalars: Scalar[]; images: string[]; fileVersion: string[] } {
  const scalars: Scalar[] = [];
  const images: string[] = [];
  const fileVersion: string[] = [];
  for (const name of readdirSync(logDir)
    .filter((n) => n.startsWith('events.out.tfevents'))
    .sort()) {
    const buf = readFileSync(join(logDir, name));
    let at = 0;
    while (at < buf.length) {
      const len = Number(buf.readBigUInt64LE(at));
      const ev = EventType.toObject(EventType.decode(buf.subarray(at + 12, at + 12 + len)), { longs: Number }) as {
        step?: number;
        fileVersion?: string;
        summary?: { value: { tag: string; simpleValue?: number; image?: unknown }[] };
      };
      if (ev.fileVersion) fileVersion.push(ev.fileVersion);
      for (const v of ev.summary?.value ?? []) {
        if (v.image) images.push(v.tag);
        else scalars.push({ tag: v.tag, step: ev.step ?? 0, value: v.simpleValue ?? 0 });
      }
      at += 12 + len + 4;
    }
  }
  return { scalars, images, fileVersion };
}
