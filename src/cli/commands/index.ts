// The list of subcommands; add one line per command file.
import type { Command } from 'commander';

export function registerCommands(program: Command): void {
  void program;
}
