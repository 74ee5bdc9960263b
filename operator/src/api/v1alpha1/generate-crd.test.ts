import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CRD_PATHS, buildCrd, crdYaml } from './generate-crd.js';

const root = path.resolve(import.meta.dirname, '../../../..');

describe('the CRD', () => {
  it.each(CRD_PATHS)('checked-in %s matches the zod schema (run `make crds` if not)', (p) => {
    expect(readFileSync(path.join(root, p), 'utf8'), 'crds drifted from the schema: run make crds').toBe(crdYaml());
  });

  it('is structural: every object schema has a type and no anyOf carries types', () => {
    const walk = (n: unknown, at: string): void => {
      if (!n || typeof n !== 'object') return;
      const o = n as Record<string, unknown>;
      if ('properties' in o) expect(o['type'], `${at} needs a type`).toBe('object');
      for (const key of ['anyOf', 'oneOf'] as const) {
        for (const alt of (o[key] as Record<string, unknown>[] | undefined) ?? []) expect(alt['type'], `${at}.${key}`).toBeUndefined();
      }
      for (const [k, v] of Object.entries(o)) walk(v, `${at}.${k}`);
    };
    walk(buildCrd(), 'crd');
  });

  it('has the contract names, printer columns and status subresource', () => {
    const crd = buildCrd() as {
      spec: {
        group: string;
        names: Record<string, unknown>;
        versions: { name: string; subresources: unknown; additionalPrinterColumns: { name: string }[] }[];
      };
    };
    expect(crd.spec.group).toBe('dbproxy.io');
    expect(crd.spec.names).toMatchObject({ kind: 'DBProxy', plural: 'dbproxies', shortNames: ['dbp'] });
    expect(crd.spec.versions[0]!.name).toBe('v1alpha1');
    expect(crd.spec.versions[0]!.subresources).toEqual({ status: {} });
    expect(crd.spec.versions[0]!.additionalPrinterColumns.map((c) => c.name)).toEqual(['Ready', 'Target', 'Replicas', 'Config', 'Age']);
  });
});

describe('CRD integers', () => {
  it('carry a format and no ±2^53 bounds', () => {
    const text = crdYaml();
    expect(text).not.toContain('9007199254740991');
    const crd = buildCrd() as {
      spec: { versions: { schema: { openAPIV3Schema: { properties: Record<string, { properties: Record<string, Record<string, unknown>> }> } } }[] };
    };
    const props = crd.spec.versions[0]!.schema.openAPIV3Schema.properties;
    expect(props['spec']!.properties['replicas']).toMatchObject({ type: 'integer', format: 'int32', minimum: 1, default: 2 });
    expect(props['status']!.properties['observedGeneration']).toEqual({ type: 'integer', format: 'int64' });
  });
});
