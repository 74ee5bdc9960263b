import { describe, expect, it } from 'vitest';
import { configText } from './kube-source.js';

describe('configText', () => {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  it('decodes the base64 data under the key', () => {
    expect(configText({ metadata: { name: 's' }, data: { 'config.yaml': b64('listen: 0.0.0.0:5432\n# ü') } }, 'config.yaml')).toBe('listen: 0.0.0.0:5432\n# ü');
  });
  it('reads stringData when there is no data', () => {
    expect(configText({ stringData: { other: 'x: 1' } }, 'other')).toBe('x: 1');
  });
  it('names the Secret and the key when the key is missing', () => {
    const r = configText({ metadata: { name: 's', namespace: 'ns' }, data: { nope: b64('x') } }, 'config.yaml');
    expect(r).toBeInstanceOf(Error);
    expect((r as Error).message).toBe('Secret ns/s has no key config.yaml');
  });
});
