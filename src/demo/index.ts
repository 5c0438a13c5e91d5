// The demo: teach the bundled tiny model a new colour word with a guide preset (see run.ts).
export type { DemoPreset } from './config.ts';
export { passes, THRESHOLD } from './metric.ts';
export { type DemoOptions, type DemoResult, FULL, runDemo } from './run.ts';
