// kill -9 at a random step, then `lyco train --resume`: the final adapter equals the
// uninterrupted run's byte for byte. The CLI runs as a child process; the parent kills it as
// soon as the state of the drawn step is on disk, so the kill lands inside a later step
// (forward, backward, or the middle of a save).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PyRandom } from '../../src/data/py-random.ts';
import { tinyArgs, type Workspace, workspace } from './harness.ts';

// Each repetition is two CLI processes (~2-4 s of CPU on the 2-core CI box); the issue asks for
// ten, about a minute and a half of the suite. LYCO_KILL_REPS=N runs another count.
const REPS = Number(process.env.LYCO_KILL_REPS ?? 10);
const STEPS = 12; // 3 images × 4 epochs
const BIN = join(import.meta.dirname, '../../bin/lyco.mjs');
// One intra-op thread: the tiny model gains nothing from more, and parallel test files compete for cores.
const env = { ...process.env, SOURCE_DATE_EPOCH: '1700000000', OMP_NUM_THREADS: '1' };

function lyco(args: string[]): ChildProcess {
  return spawn(process.execPath, [BIN, 'train', ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
}

// One workspace and one uninterrupted reference run for both tests (save options do not enter
// the adapter file, so every run below must end with exactly these bytes).
let ws: Workspace;
let want: Buffer;
const base = () => [
  ws.config,
  '--model',
  ws.model,
  '--data',
  ws.data,
  '--no-progress',
  ...tinyArgs('--max_train_epochs', String(STEPS / 3)),
];
before(async () => {
  ws = await workspace('ia3');
  const ref = await exited(lyco([...base(), '--output', ws.out('ref')]));
  assert.equal(ref.code, 0, ref.stderr);
  want = readFileSync(join(ws.out('ref'), 'last.safetensors'));
});
after(() => ws.cleanup());

test(`kill -9 at a random step then --resume, ${REPS} times: final adapter byte-identical`, async () => {
  const common = [
    ...base(),
    '--save_every_n_steps',
    '1',
    '--save_state',
    'true',
    '--save_last_n_steps',
    '2',
    '--save_last_n_steps_state',
    '2',
  ];
  {
    const rng = new PyRandom(2024);
    for (let i = 0; i < REPS; i++) {
      const out = ws.out(`run${i}`);
      const k = rng.randint(1, STEPS - 3);
      const stateK = join(out, `at-step${String(k).padStart(8, '0')}-state`);
      const child = lyco([...common, '--output', out]);
      const done = exited(child);
      const timer = setInterval(() => {
        if (existsSync(join(stateK, 'train_state.json'))) child.kill('SIGKILL');
      }, 1);
      const killed = await done;
      clearInterval(timer);
      assert.equal(killed.signal, 'SIGKILL', `run ${i}: the child finished before the kill at step ${k}`);
      assert.ok(!existsSync(join(out, 'last.safetensors')));
      const resumed = await exited(lyco([...common, '--output', out, '--resume', out]));
      assert.equal(resumed.code, 0, resumed.stderr);
      const from = /resumed from .*step(\d+)-state: step (\d+)/.exec(resumed.stderr);
      assert.ok(from && Number(from[2]) >= k, `run ${i}: resumed at step ${from?.[2]}, killed after ${k}`);
      const got = readFileSync(join(out, 'last.safetensors'));
      assert.ok(got.equals(want), `run ${i}: killed after step ${k}, resumed at ${from[2]}: final adapter differs`);
    }
  }
});

test('Ctrl-C (a real SIGINT) to lyco train: exits 130 after saving; --resume finishes identical', async () => {
  const common = base();
  {
    const out = ws.out('int');
    const child = lyco([...common, '--output', out, '--save_every_n_steps', '3']);
    const done = exited(child);
    // The first step save is on disk: the loop is running; interrupt it.
    const timer = setInterval(() => {
      if (existsSync(join(out, 'at-step00000003.safetensors'))) {
        clearInterval(timer);
        child.kill('SIGINT');
      }
    }, 1);
    const r = await done;
    clearInterval(timer);
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /interrupted at step (\d+); saved .*; continue with --resume /);
    const resumed = await exited(lyco([...common, '--output', out, '--save_every_n_steps', '3', '--resume', out]));
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.ok(readFileSync(join(out, 'last.safetensors')).equals(want));
  }
});
