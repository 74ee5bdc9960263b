/** Names, labels and annotations of the objects the operator owns for DBProxy X (docs/operator.md, "Children"). */
import { API_VERSION, KIND } from '../api/v1alpha1/schema.js';

export const MANAGER = 'dbproxy-operator';
export const SPEC_HASH = 'dbproxy.io/spec-hash';
export const CONFIG_KEY = 'config.yaml';
/** The key of the admin token in Secret X-proxy-admin-token (admin-token.ts). */
export const ADMIN_TOKEN_KEY = 'token';
export const PG_PORT = 5432;
export const ADMIN_PORT = 9187;
/** The pods' read-only endpoint (behind Service X-ro on PG_PORT). */
export const READER_PORT = 5433;
export const TLS_MOUNT = '/etc/dbproxy/tls';
/** Where spec.backendTLS.caSecretRef's key is mounted (backendTls.caFile). */
export const BACKEND_CA_MOUNT = '/etc/dbproxy/backend-ca';
/** The label the operator's child informers select on. */
export const MANAGED_BY_SELECTOR = `app.kubernetes.io/managed-by=${MANAGER}`;

export const childNames = (x: string) => ({
  deployment: `${x}-proxy`,
  service: x,
  readerService: `${x}-ro`,
  configSecret: `${x}-proxy-config`,
  adminTokenSecret: `${x}-proxy-admin-token`,
  serviceAccount: `${x}-proxy`,
  role: `${x}-proxy`,
  roleBinding: `${x}-proxy`,
  pdb: `${x}-proxy`,
});

/** The labels the pods are selected by; never overridable by spec.template.labels. */
export function selectorLabels(x: string): Record<string, string> {
  return { 'app.kubernetes.io/name': 'dbproxy', 'app.kubernetes.io/instance': x, 'app.kubernetes.io/component': 'proxy' };
}

export function childLabels(x: string): Record<string, string> {
  return { ...selectorLabels(x), 'app.kubernetes.io/managed-by': MANAGER };
}

export interface OwnerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: boolean;
  blockOwnerDeletion: boolean;
}

export function ownerRef(name: string, uid: string): OwnerRef {
  return { apiVersion: API_VERSION, kind: KIND, name, uid, controller: true, blockOwnerDeletion: true };
}

/** The DBProxy (namespace/name) that controls obj, from its controller owner reference. */
export function controllerOf(obj: {
  metadata?: { namespace?: string; ownerReferences?: { kind: string; apiVersion: string; name: string; controller?: boolean }[] };
}): string | undefined {
  const ref = obj.metadata?.ownerReferences?.find((r) => r.controller && r.kind === KIND && r.apiVersion.startsWith('dbproxy.io/'));
  return ref && obj.metadata?.namespace ? `${obj.metadata.namespace}/${ref.name}` : undefined;
}
