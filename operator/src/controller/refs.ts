/**
 * Which DBProxies an event on a Secret or an EndpointSlice concerns, pure. Reads the raw (unvalidated)
 * spec, so a DBProxy that is invalid for another reason still hears about the Secret it names.
 */
import type { DBProxy } from '../api/v1alpha1/schema.js';
import { SERVICE_NAME_LABEL } from './targets.js';

interface RawSpec {
  auth?: { secretRef?: { name?: unknown } }[];
  tls?: { secretRef?: { name?: unknown } };
  targets?: { serviceRef?: { name?: unknown } }[];
}

const raw = (x: DBProxy): RawSpec => (x.spec && typeof x.spec === 'object' ? (x.spec as RawSpec) : {});

export function referencesSecret(x: DBProxy, secret: string): boolean {
  const s = raw(x);
  return (Array.isArray(s.auth) && s.auth.some((a) => a?.secretRef?.name === secret)) || s.tls?.secretRef?.name === secret;
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
