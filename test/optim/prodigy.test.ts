import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Prodigy } from '../../src/optim/prodigy.ts';
import { goldenDir } from '../helpers/golden.ts';
import { caseNames, loadCase } from './golden-case.ts';
import { type Build, replay } from './replay.ts';

for (const foreach of [true, false]) {
  test(`Prodigy reproduces every golden case (${foreach ? 'grouped' : 'per-tensor'} dispatch)`, (t) => {
    const dir = goldenDir(t, 'prodigy');
    if (!dir) return;
    const names = caseNames(dir, 'Prodigy');
    assert.ok(names.length >= 15, `expected the Prodigy cases, found ${names.length}`);
    const build: Build = (groups, kwargs) => new Prodigy(groups, { ...kwargs, foreach }) as unknown as ReturnType<Build>;
    for (const name of names) {
      const { c, tensors } = loadCase(dir, name);
      if (c.error) {
        assert.throws(() => replay(c, tensors, build), /different non-zero lr/, `${name} must raise`);
        continue;
      }
      replay(c, tensors, build);
    }
  });
}
