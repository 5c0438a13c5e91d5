// Locates ../shared/golden (or $LYCO_GOLDEN). Golden tests call goldenDir(t) and are skipped,
// with a visible message, when the folder is absent (a user's fresh clone); CI always has it.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function goldenRoot(): string | undefined {
  const dir = process.env.LYCO_GOLDEN ?? join(root, '..', 'shared', 'golden');
  return existsSync(join(dir, 'README.md')) ? dir : undefined;
}

/** The golden folder `sub`, or undefined after marking the test skipped with a message. */
export function goldenDir(t: TestContext, sub = ''): string | undefined {
  const dir = goldenRoot();
  if (!dir) {
    const msg = 'golden data not found: set LYCO_GOLDEN or place shared/golden beside the checkout';
    console.warn(`SKIP ${t.name}: ${msg}`);
    t.skip(msg);
    return undefined;
  }
  return join(dir, sub);
}
