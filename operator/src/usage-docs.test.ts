/** Docs match the code: every flag `dbproxy operator --help` prints is in docs/operator.md. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { USAGE } from './main.js';

const doc = readFileSync(path.resolve(import.meta.dirname, '../../docs/operator.md'), 'utf8');
const flags = [...new Set(USAGE.match(/--[a-z][a-z-]+/g) ?? [])].sort();

describe('docs/operator.md names every flag of dbproxy operator --help', () => {
  it('finds the flags in the usage text (so the checks below check something)', () => {
    expect(flags).toEqual(expect.arrayContaining(['--watch-namespace', '--lease-namespace', '--metrics-listen', '--proxy-image']));
  });

  it.each(flags)('%s', (flag) => {
    expect(doc).toContain(`${flag}`);
  });
});
