// The `lyco` command: parses arguments and hands each subcommand to its layer.
// Each file in ./commands exports `register(program)` and adds one subcommand.
import { Command } from 'commander';
import { registerCommands } from './commands/index.ts';

export async function main(argv: string[]): Promise<void> {
  const program = new Command('lyco')
    .description('Train LyCORIS adapters for Stable Diffusion with Prodigy, on libtorch')
    .showHelpAfterError()
    .exitOverride();
  registerCommands(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    const err = e as { code?: string; exitCode?: number; message?: string };
    if (err.code?.startsWith('commander.')) {
      process.exitCode = err.exitCode ?? 1;
      return;
    }
    console.error(`lyco: ${err.message ?? String(e)}`);
    process.exitCode = 1;
  }
}
