/** Docs match the code: every flag `dbproxy proxy --help` prints is in docs/configuration.md. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KUBE_USAGE, PROXY_USAGE } from './flags.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const doc = (name: string) => readFileSync(path.join(ROOT, 'docs', name), 'utf8');
const flags = (usage: string) => [...new Set(usage.match(/--[a-z][a-z-]+/g) ?? [])].sort();

describe('the docs name every flag of --help', () => {
  it('finds flags in the usage texts (so the checks below check something)', () => {
    expect(flags(PROXY_USAGE + KUBE_USAGE)).toEqual(expect.arrayContaining(['--config', '--config-secret', '--bind-host', '--target']));
  });

  it.each(flags(PROXY_USAGE + KUBE_USAGE))('docs/configuration.md documents dbproxy proxy %s', (flag) => {
    expect(doc('configuration.md')).toContain(`\`${flag}`);
  });
});
