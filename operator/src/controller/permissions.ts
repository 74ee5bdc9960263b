/**
 * Every (API group, resource, verb) the operator calls, declared in one place. The Helm chart's
 * ClusterRole must grant exactly these: e2e/specs/chart.e2e.test.ts checks each with a
 * SubjectAccessReview against an installed release, fails on any broader grant, and runs the
 * operator with nothing else.
 *
 * - informers list + watch everything they cache (no single gets);
 * - server-side apply is `patch`, plus `create` when the object does not exist yet;
 * - secrets: list + watch for its own children (label selector) and for each referenced Secret,
 *   watched alone (fieldSelector metadata.name; RBAC checks that as a list/watch of the Secret's
 *   name, but the names are only known at run time, so the rule cannot carry resourceNames); `get`
 *   because RBAC lets the operator create the proxy's Role (get/list/watch on its config Secret)
 *   only if the operator holds those verbs itself;
 * - status is written with server-side apply on the status subresource;
 * - events are created, then patched to bump their count;
 * - leader election reads, creates and updates one Lease.
 *
 * - the TokenReview ClusterRoleBindings of spec.kubernetesAuth (token-review.ts): the bindings, and
 *   `bind` on the one ClusterRole they reference, so the operator can bind nothing else.
 *
 * Cluster-wide install: one ClusterRole with all of these. Namespaced install (the chart's
 * watchNamespaces): a Role with NAMESPACED_PERMISSIONS in each watched namespace and a Role with
 * LEASE_PERMISSIONS in the Lease's namespace; nothing cluster-wide unless the chart's
 * tokenReviewBindings asks for a ClusterRole with TOKEN_REVIEW_PERMISSIONS.
 */
import { TOKEN_REVIEW_ROLE } from './token-review.js';

export interface Permission {
  group: string;
  resource: string;
  verbs: string[];
  /** Only these objects (RBAC resourceNames); absent: any. */
  resourceNames?: string[];
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
  // spec.networkPolicy: which clients may reach the proxy pods.
  { group: 'networking.k8s.io', resource: 'networkpolicies', verbs: CHILD_VERBS },
  // spec.monitoring.podMonitor: a child only where the Prometheus Operator's CRDs are installed.
  { group: 'monitoring.coreos.com', resource: 'podmonitors', verbs: CHILD_VERBS },
  // Also granted to the proxy pods' Role (their cancel peers), which RBAC allows only because the operator holds it.
  { group: 'discovery.k8s.io', resource: 'endpointslices', verbs: ['list', 'watch'] },
  { group: '', resource: 'events', verbs: ['create', 'patch'] },
  { group: 'coordination.k8s.io', resource: 'leases', verbs: ['get', 'create', 'update'] },
  { group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings', verbs: CHILD_VERBS },
  { group: 'rbac.authorization.k8s.io', resource: 'clusterroles', verbs: ['bind'], resourceNames: [TOKEN_REVIEW_ROLE] },
];

const isLease = (p: Permission) => p.group === 'coordination.k8s.io' && p.resource === 'leases';
const isTokenReview = (p: Permission) => p.group === 'rbac.authorization.k8s.io' && p.resource.startsWith('cluster');

/** What a namespaced install grants in each watched namespace. */
export const NAMESPACED_PERMISSIONS: Permission[] = OPERATOR_PERMISSIONS.filter((p) => !isLease(p) && !isTokenReview(p));

/** What --token-review-bindings needs, cluster-wide (the bindings are cluster-scoped). */
export const TOKEN_REVIEW_PERMISSIONS: Permission[] = OPERATOR_PERMISSIONS.filter(isTokenReview);

/** What it grants in the Lease's namespace (leader election only). */
export const LEASE_PERMISSIONS: Permission[] = OPERATOR_PERMISSIONS.filter(isLease);
