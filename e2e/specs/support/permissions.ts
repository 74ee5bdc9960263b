/**
 * The (group, resource, verb) list the operator needs, for the chart's RBAC check. The source of
 * truth is the operator's own declaration, `operator/src/controller/permissions.ts` exporting
 * `OPERATOR_PERMISSIONS: { group: string; resource: string; verbs: string[] }[]`; until that exists,
 * the calls listed in issue 4 / DESIGN.md stand in (and the test says which list it checked).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './env.js';

export interface Permission {
  group: string;
  resource: string;
  verbs: string[];
}

const DOCUMENTED: Permission[] = [
  { group: 'dbproxy.io', resource: 'dbproxies', verbs: ['get', 'list', 'watch'] },
  { group: 'dbproxy.io', resource: 'dbproxies/status', verbs: ['get', 'patch', 'update'] },
  { group: 'apps', resource: 'deployments', verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
  { group: '', resource: 'services', verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
  { group: '', resource: 'secrets', verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
  { group: '', resource: 'serviceaccounts', verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
  { group: 'rbac.authorization.k8s.io', resource: 'roles', verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
  { group: 'rbac.authorization.k8s.io', resource: 'rolebindings', verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
  { group: 'policy', resource: 'poddisruptionbudgets', verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
  { group: 'discovery.k8s.io', resource: 'endpointslices', verbs: ['get', 'list', 'watch'] },
  { group: '', resource: 'events', verbs: ['create', 'patch'] },
  { group: 'coordination.k8s.io', resource: 'leases', verbs: ['get', 'create', 'update'] },
];

export async function operatorPermissions(): Promise<{ source: string; permissions: Permission[] }> {
  const file = path.join(ROOT, 'operator/src/controller/permissions.ts');
  if (existsSync(file)) {
    const mod = (await import(/* @vite-ignore */ pathToFileURL(file).href)) as { OPERATOR_PERMISSIONS?: Permission[] };
    if (mod.OPERATOR_PERMISSIONS) return { source: 'operator/src/controller/permissions.ts', permissions: mod.OPERATOR_PERMISSIONS };
  }
  return { source: 'issue 4 (operator/src/controller/permissions.ts not found)', permissions: DOCUMENTED };
}
