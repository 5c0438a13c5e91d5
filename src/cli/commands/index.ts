// The list of subcommands; add one line per command file.
import type { Command } from 'commander';
import { register as registerConvert } from './convert.ts';
import { register as registerDedupe } from './dedupe.ts';
import { register as registerDemo } from './demo.ts';
import { register as registerExtract } from './extract.ts';
import { register as registerInit } from './init.ts';
import { register as registerInspect } from './inspect.ts';
import { register as registerMerge } from './merge.ts';
import { register as registerPlan } from './plan.ts';
import { register as registerPresets } from './presets.ts';
import { register as registerSample } from './sample.ts';
import { register as registerTrain } from './train.ts';

export function registerCommands(program: Command): void {
  registerDemo(program);
  registerDedupe(program);
  registerPresets(program);
  registerInit(program);
  registerPlan(program);
  registerInspect(program);
  registerMerge(program);
  registerExtract(program);
  registerTrain(program);
  registerConvert(program);
  registerSample(program);
}
