/**
 * The one cluster-scoped child: ClusterRoleBinding dbproxy:NAMESPACE:NAME:token-review, binding the
 * proxy pods' ServiceAccount to the built-in ClusterRole system:auth-delegator, so that a DBProxy with
 * spec.kubernetesAuth can ask the apiserver for TokenReviews. Pure. A cluster-scoped object cannot
 * have a namespaced owner (the garbage collector ignores such a reference), so the owner is named in
 * annotations instead and reconcile deletes the binding itself when the DBProxy goes.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { stableHash } from './hash.js';
import { SPEC_HASH, childLabels, childNames } from './names.js';
import type { Obj } from './desired.js';

/** The built-in ClusterRole that grants `create tokenreviews` (and subjectaccessreviews). */
export const TOKEN_REVIEW_ROLE = 'system:auth-delegator';
/** NAMESPACE/NAME of the DBProxy that owns the binding. */
export const OWNER_ANNOTATION = 'dbproxy.io/owner';
/** Its uid: a DBProxy deleted and created again under the same name is a new owner. */
export const OWNER_UID_ANNOTATION = 'dbproxy.io/owner-uid';

export const tokenReviewBindingName = (namespace: string, name: string) => `dbproxy:${namespace}:${name}:token-review`;

export function tokenReviewBinding(i: { name: string; namespace: string; uid: string }): Obj {
  const apiVersion = 'rbac.authorization.k8s.io/v1';
  const kind = 'ClusterRoleBinding';
  const metadata = {
    name: tokenReviewBindingName(i.namespace, i.name),
    labels: childLabels(i.name),
    annotations: { [OWNER_ANNOTATION]: `${i.namespace}/${i.name}`, [OWNER_UID_ANNOTATION]: i.uid },
  };
  const body = {
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: TOKEN_REVIEW_ROLE },
    subjects: [{ kind: 'ServiceAccount', name: childNames(i.name).serviceAccount, namespace: i.namespace }],
  };
  const hash = stableHash({ apiVersion, kind, metadata, ...body });
  return { apiVersion, kind, metadata: { ...metadata, annotations: { ...metadata.annotations, [SPEC_HASH]: hash } }, ...body };
}

/** The DBProxy a binding belongs to, from its annotations; undefined for anything else. */
export function bindingOwner(o: KubernetesObject): { key: string; namespace: string; uid: string | undefined } | undefined {
  const key = o.metadata?.annotations?.[OWNER_ANNOTATION];
  const [namespace, name, ...rest] = key?.split('/') ?? [];
  if (!key || !namespace || !name || rest.length > 0) return undefined;
  return { key, namespace, uid: o.metadata?.annotations?.[OWNER_UID_ANNOTATION] };
}

/** Said once per spec generation when the operator may not create the binding (a namespaced install). */
export function notBoundEvent(namespace: string, name: string): { type: 'Warning'; reason: string; message: string } {
  const sa = `${namespace}:${childNames(name).serviceAccount}`;
  return {
    type: 'Warning',
    reason: 'TokenReviewNotBound',
    message:
      `spec.kubernetesAuth: this operator does not manage ClusterRoleBindings (--token-review-bindings=false), so token logins fail with 08006 ` +
      `until the proxy's ServiceAccount may create TokenReviews: kubectl create clusterrolebinding ${tokenReviewBindingName(namespace, name)} ` +
      `--clusterrole=${TOKEN_REVIEW_ROLE} --serviceaccount=${sa}`,
  };
}
