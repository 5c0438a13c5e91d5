// The lines of the ConfigError that parseConfig throws for `text` (fails the test when none is thrown).
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../../src/config/index.ts';

export function errorLines(text: string, file = 'bad.json'): string[] {
  try {
    parseConfig(text, file);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    return e.message.split('\n');
  }
  assert.fail('expected a ConfigError');
}
