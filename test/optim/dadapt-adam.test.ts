import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DAdaptAdam } from '../../src/optim/dadapt-adam.ts';
import { goldenDir } from '../helpers/golden.ts';
import { caseNames, loadCase } from './golden-case.ts';
import { type Build, replay } from './replay.ts';

for (const foreach of [true, false]) {
  test(`DAdaptAdam reproduces the golden cases (${foreach ? 'grouped' : 'per-tensor'} dispatch)`, (t) => {
    const dir = goldenDir(t, 'prodigy');
    if (!dir) return;
    const names = caseNames(dir, 'DAdaptAdam');
    assert.ok(names.length >= 1, 'expected a DAdaptAdam case');
    const build: Build = (groups, kwargs) => new DAdaptAdam(groups, { ...kwargs, foreach }) as unknown as ReturnType<Build>;
    for (const name of names) {
      const { c, tensors } = loadCase(dir, name);
      replay(c, tensors, build);
    }
  });
}
