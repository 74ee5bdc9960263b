/**
 * Every (API group, resource, verb) the operator calls, declared in one place. The Helm chart's
 * ClusterRole must grant exactly these: e2e/specs/chart.e2e.test.ts checks each with a
 * SubjectAccessReview against an installed release, fails on any broader grant, and runs the
 * operator with nothing else.
 *
 * - informers list + watch everything they cache (no single gets);
 * - server-side apply is `patch`, plus `create` when the object does not exist yet;
 * - secrets need `get` too: RBAC lets the operator create the proxy's Role (get/list/watch on its
 *   config Secret) only if the operator holds those verbs itself;
 * - status is written with server-side apply on the status subresource;
 * - events are created, then patched to bump their count;
 * - leader election reads, creates and updates one Lease.
 */
export interface Permission {
  group: string;
  resource: string;
  verbs: string[];
}

const CHILD_VERBS = ['list', 'watch', 'create', 'patch', 'delete'];

export const OPERATOR_PERMISSIONS: Permission[] = [
  { group: 'dbproxy.io', resource: 'dbproxies', verbs: ['list', 'watch'] },
  { group: 'dbproxy.io', resource: 'dbproxies/status', verbs: ['patch'] },
  { group: 'apps', resource: 'deployments', verbs: CHILD_VERBS },
  { group: '', resource: 'services', verbs: CHILD_VERBS },
  { group: '', resource: 'serviceaccounts', verbs: CHILD_VERBS },
  { group: '', resource: 'secrets', verbs: ['get', ...CHILD_VERBS] },
  { group: 'rbac.authorization.k8s.io', resource: 'roles', verbs: CHILD_VERBS },
  { group: 'rbac.authorization.k8s.io', resource: 'rolebindings', verbs: CHILD_VERBS },
  { group: 'policy', resource: 'poddisruptionbudgets', verbs: CHILD_VERBS },
  // spec.monitoring.podMonitor: a child only where the Prometheus Operator's CRDs are installed.
  { group: 'monitoring.coreos.com', resource: 'podmonitors', verbs: CHILD_VERBS },
  { group: 'discovery.k8s.io', resource: 'endpointslices', verbs: ['list', 'watch'] },
  { group: '', resource: 'events', verbs: ['create', 'patch'] },
  { group: 'coordination.k8s.io', resource: 'leases', verbs: ['get', 'create', 'update'] },
];
