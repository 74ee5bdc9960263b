/**
 * Which DBProxies an event on a Secret or an EndpointSlice concerns, pure. Reads the raw (unvalidated)
 * spec, so a DBProxy that is invalid for another reason still hears about the Secret it names.
 */
import type { DBProxy } from '../api/v1alpha1/schema.js';
import { SERVICE_NAME_LABEL } from './targets.js';

interface RawSpec {
  auth?: { secretRef?: { name?: unknown } }[];
  tls?: { secretRef?: { name?: unknown } };
  backendTLS?: { caSecretRef?: { name?: unknown } };
  targets?: { serviceRef?: { name?: unknown } }[];
}

type RawRef = { name?: unknown } | undefined | null;

const raw = (x: DBProxy): RawSpec => (x.spec && typeof x.spec === 'object' ? (x.spec as RawSpec) : {});

/**
 * Every Secret (in its own namespace) the DBProxy names, sorted and without duplicates: the only
 * Secrets besides its own children the operator reads (manager.ts watches each by name). A new
 * secretRef in the spec is added here and nowhere else.
 */
export function referencedSecrets(x: DBProxy): string[] {
  const s = raw(x);
  const refs: RawRef[] = [...(Array.isArray(s.auth) ? s.auth.map((a) => a?.secretRef) : []), s.tls?.secretRef, s.backendTLS?.caSecretRef];
  const names = refs.map((r) => r?.name).filter((n): n is string => typeof n === 'string' && n !== '');
  return [...new Set(names)].sort();
}

export function referencesSecret(x: DBProxy, secret: string): boolean {
  return referencedSecrets(x).includes(secret);
}

export function referencesService(x: DBProxy, service: string): boolean {
  const s = raw(x);
  return Array.isArray(s.targets) && s.targets.some((t) => t?.serviceRef?.name === service);
}

export const keyOf = (x: { metadata?: { namespace?: string; name?: string } }) => `${x.metadata?.namespace ?? ''}/${x.metadata?.name ?? ''}`;

/** Keys of the DBProxies (in the slice's namespace) whose serviceRef the slice belongs to. */
export function dbproxiesForSlice(slice: { metadata?: { labels?: Record<string, string> } }, inNamespace: DBProxy[]): string[] {
  const svc = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
  return svc ? inNamespace.filter((x) => referencesService(x, svc)).map(keyOf) : [];
}
