// pyJsonDumps is Python's json.dumps with its defaults (", " / ": " separators, ensure_ascii,
// floats in repr, NaN/Infinity), for nested dicts and lists — the ss_* JSON values sd-scripts
// writes (ss_network_args, ss_tag_frequency, ss_dataset_dirs, ss_bucket_info). Every expected
// string below is what CPython 3 prints for the same value.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PyFloat, pyJsonDumps } from '../../src/adapters/py-str.ts';

test('nested dicts and lists with ints, floats, null and bools', () => {
  // json.dumps({"a": {"b": [1, 2.5, None, True, False]}, "c": "x", "d": {}, "e": []})
  assert.equal(
    pyJsonDumps({ a: { b: [1, 2.5, null, true, false] }, c: 'x', d: {}, e: [] }),
    '{"a": {"b": [1, 2.5, null, true, false]}, "c": "x", "d": {}, "e": []}',
  );
  // What broke before: a nested value was written as "[object Object]".
  assert.equal(pyJsonDumps({ conv: { dim: 4, alpha: [1, 2] } }), '{"conv": {"dim": 4, "alpha": [1, 2]}}');
  assert.equal(pyJsonDumps({ conv_dim: '512', algo: 'lokr' }), '{"conv_dim": "512", "algo": "lokr"}');
  assert.equal(pyJsonDumps([[1, [2]], {}]), '[[1, [2]], {}]');
  assert.equal(pyJsonDumps(null), 'null');
  assert.equal(pyJsonDumps(undefined), 'null');
});

test('floats as float.__repr__: 1e-05, 0.0001, 1.0, 1e+16; ints with all their digits', () => {
  // json.dumps([1e-05, 0.0001, 1.0, 1e16, 1.5e-7, 123.456, 1e22, 0.1 + 0.2, -0.0, 2.5e-323])
  assert.equal(
    pyJsonDumps([
      1e-5,
      0.0001,
      new PyFloat(1),
      new PyFloat(1e16),
      1.5e-7,
      123.456,
      new PyFloat(1e22),
      0.1 + 0.2,
      new PyFloat(-0),
      2.5e-323,
    ]),
    '[1e-05, 0.0001, 1.0, 1e+16, 1.5e-07, 123.456, 1e+22, 0.30000000000000004, -0.0, 2.5e-323]',
  );
  // json.dumps([float("nan"), float("inf"), -float("inf"), 10**21])
  assert.equal(
    pyJsonDumps([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e21]),
    '[NaN, Infinity, -Infinity, 1000000000000000000000]',
  );
  assert.equal(pyJsonDumps(10n ** 30n), '1000000000000000000000000000000');
});

test('ensure_ascii: non-ASCII and DEL as \\uXXXX (astral as a surrogate pair), control characters escaped', () => {
  // json.dumps("caf\u00e9 \u2713 \U0001F600 \x7f \n\t\"\\ \x01\x1f /")
  assert.equal(
    pyJsonDumps('caf\u00e9 \u2713 \u{1F600} \x7f \n\t"\\ \x01\x1f /'),
    '"caf\\u00e9 \\u2713 \\ud83d\\ude00 \\u007f \\n\\t\\"\\\\ \\u0001\\u001f /"',
  );
  assert.equal(pyJsonDumps({ ñ: 'ü' }), '{"\\u00f1": "\\u00fc"}');
});

test('keys in insertion order with a Map (a plain object lists integer-like keys first)', () => {
  // json.dumps({"ss": {"1girl": 3, "b": 2, "2": 1}})
  const tags = new Map<string, number>([
    ['1girl', 3],
    ['b', 2],
    ['2', 1],
  ]);
  assert.equal(pyJsonDumps({ ss: tags }), '{"ss": {"1girl": 3, "b": 2, "2": 1}}');
  // json.dumps({1: "x", None: 1, 2.5: 0}): non-string keys become strings.
  assert.equal(
    pyJsonDumps(
      new Map<unknown, unknown>([
        [1, 'x'],
        [null, 1],
        [new PyFloat(2.5), 0],
      ]),
    ),
    '{"1": "x", "null": 1, "2.5": 0}',
  );
});
