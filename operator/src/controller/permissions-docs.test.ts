/** docs/install.md's RBAC table is the operator's declared permissions, row for row. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { OPERATOR_PERMISSIONS } from './permissions.js';

it('docs/install.md lists exactly the permissions the operator declares', () => {
  const doc = readFileSync(path.resolve(import.meta.dirname, '../../../docs/install.md'), 'utf8');
  const rows = [...doc.matchAll(/^\| `([^`]*)` \| `([^`]+)` \| ([a-z, ]+) \| (?:`([^`]+)`)? *\|$/gm)].map((m) => ({
    group: m[1] === '""' ? '' : m[1]!,
    resource: m[2]!,
    verbs: m[3]!.split(', '),
    ...(m[4] !== undefined ? { resourceNames: m[4].split('`, `') } : {}),
  }));
  expect(rows.length).toBeGreaterThan(0);
  expect(rows).toEqual(OPERATOR_PERMISSIONS);
});
