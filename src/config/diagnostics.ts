// Messages about a config: every one is a single line that names the file and the key.

export type Level = 'error' | 'warning' | 'info';

export interface Diagnostic {
  level: Level;
  /** Stable identifier for tests and for the trainer to act on (e.g. "inert", "unknown-key"). */
  code: string;
  /** The key as the user wrote it (GUI key, sd-scripts option, or `optimizer_args.d_coef`). */
  key?: string;
  message: string;
  file?: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = [d.file, d.key].filter((s) => s !== undefined && s !== '').join(': ');
  const tag = d.level === 'info' ? 'note' : d.level;
  return where ? `${tag}: ${where}: ${d.message}` : `${tag}: ${d.message}`;
}

/** Thrown when a config cannot be used; `message` is one line per problem. */
export class ConfigError extends Error {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
    this.name = 'ConfigError';
    this.diagnostics = diagnostics;
  }
}

/** Collects diagnostics for one file. */
export class Diagnostics {
  readonly items: Diagnostic[] = [];
  constructor(readonly file?: string) {}
  add(level: Level, code: string, key: string | undefined, message: string): void {
    this.items.push({ level, code, key, message, file: this.file });
  }
  error(code: string, key: string | undefined, message: string): void {
    this.add('error', code, key, message);
  }
  warn(code: string, key: string | undefined, message: string): void {
    this.add('warning', code, key, message);
  }
  info(code: string, key: string | undefined, message: string): void {
    this.add('info', code, key, message);
  }
  get errors(): Diagnostic[] {
    return this.items.filter((d) => d.level === 'error');
  }
  throwIfErrors(): void {
    const errors = this.errors;
    if (errors.length > 0) throw new ConfigError(errors);
  }
}
