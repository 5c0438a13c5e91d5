// The list of subcommands; add one line per command file.
import type { Command } from 'commander';
import { register as registerDedupe } from './dedupe.ts';
import { register as registerDemo } from './demo.ts';

export function registerCommands(program: Command): void {
  registerDemo(program);
  registerDedupe(program);
}
