#!/usr/bin/env node
// Builds native/ into native/build/Release/lyco.node with cmake-js + Ninja, against the libtorch
// chosen by LIBTORCH / LIBTORCH_USE_PYTORCH (see native/cmake/Libtorch.cmake), Debian's by default.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
const args = [cmakeJs, 'compile', '-d', 'native', '-O', 'native/build', '-G', 'Ninja', '--log-level', 'warn'];
if (process.env.LYCO_DEBUG_NATIVE) args.push('-D');
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.error('lyco: the native addon did not build; see the compiler output above (libtorch: native/cmake/Libtorch.cmake)');
  process.exit(r.status ?? 1);
}
