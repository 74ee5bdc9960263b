import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { currentNamespace } from './kube.js';

describe('currentNamespace', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ns-'));
  const file = path.join(dir, 'namespace');
  writeFileSync(file, 'from-file\n');

  it('prefers POD_NAMESPACE', () => {
    expect(currentNamespace({ POD_NAMESPACE: ' shop ' }, file)).toBe('shop');
  });
  it('falls back to the service-account namespace file', () => {
    expect(currentNamespace({}, file)).toBe('from-file');
    expect(currentNamespace({ POD_NAMESPACE: '' }, file)).toBe('from-file');
  });
  it('is undefined outside a pod without POD_NAMESPACE', () => {
    expect(currentNamespace({}, path.join(dir, 'missing'))).toBeUndefined();
  });
});
