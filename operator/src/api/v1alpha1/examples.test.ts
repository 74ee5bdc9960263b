import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { validateSpec } from './validate.js';

const dir = path.resolve(import.meta.dirname, '../../../../examples');
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

describe('examples/', () => {
  it('has the basic, serviceRef and TLS examples', () => expect(files).toEqual(expect.arrayContaining(['basic.yaml', 'serviceref.yaml', 'tls.yaml'])));

  it.each(files)('%s: every DBProxy is valid and its Secrets are in the file (or documented)', (f) => {
    const text = readFileSync(path.join(dir, f), 'utf8');
    const docs = parseAllDocuments(text).map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec: Record<string, unknown> });
    const proxies = docs.filter((d) => d.kind === 'DBProxy');
    expect(proxies.length).toBeGreaterThan(0);
    const secrets = new Set(docs.filter((d) => d.kind === 'Secret').map((d) => d.metadata.name));
    for (const p of proxies) {
      const r = validateSpec(p.spec, p.metadata.name);
      expect(r.ok ? [] : r.problems).toEqual([]);
      if (!r.ok) continue;
      for (const a of r.spec.auth) expect(secrets.has(a.secretRef.name), `${f}: auth Secret ${a.secretRef.name}`).toBe(true);
      if (r.spec.tls) expect(secrets.has(r.spec.tls.secretRef.name) || text.includes(`kubectl create secret tls ${r.spec.tls.secretRef.name}`)).toBe(true);
    }
  });
});
