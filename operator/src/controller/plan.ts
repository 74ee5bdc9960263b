/**
 * What to do to turn the observed children into the desired ones, pure. A child is patched only when
 * its content hash annotation (or, for a Secret, its data; for a Deployment, its replicas) differs,
 * so a resync of an up-to-date DBProxy sends nothing to the apiserver.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { canonicalJson } from './hash.js';
import { SPEC_HASH } from './names.js';

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export type Action =
  | { type: 'create'; object: KubernetesObject; reason: string }
  | { type: 'patch'; object: KubernetesObject; reason: string }
  | { type: 'delete'; ref: ObjectRef; reason: string }
  | { type: 'nothing'; ref: ObjectRef; reason: string };

/** Observed list items may lack apiVersion/kind; the caller tags each with the kind its informer watches. */
const key = (o: KubernetesObject) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

function refOf(o: KubernetesObject): ObjectRef {
  const ref: ObjectRef = { apiVersion: o.apiVersion ?? '', kind: o.kind ?? '', name: o.metadata?.name ?? '' };
  if (o.metadata?.namespace) ref.namespace = o.metadata.namespace;
  return ref;
}

function whyDifferent(want: KubernetesObject, have: KubernetesObject): string | undefined {
  const wantHash = want.metadata?.annotations?.[SPEC_HASH];
  const haveHash = have.metadata?.annotations?.[SPEC_HASH];
  if (wantHash !== haveHash) return `${SPEC_HASH} ${haveHash ?? '(none)'} → ${wantHash}`;
  const w = want as KubernetesObject & { data?: unknown; spec?: { replicas?: number } };
  const h = have as KubernetesObject & { data?: unknown; spec?: { replicas?: number } };
  if (w.kind === 'Secret' && canonicalJson(w.data ?? {}) !== canonicalJson(h.data ?? {})) return 'data changed';
  if (w.kind === 'Deployment' && w.spec?.replicas !== h.spec?.replicas) return `replicas ${h.spec?.replicas} → ${w.spec?.replicas}`;
  return undefined;
}

/** `observed` holds the DBProxy's own children only (controller owner reference to it). */
export function plan(desired: KubernetesObject[], observed: KubernetesObject[]): Action[] {
  const have = new Map(observed.map((o) => [key(o), o]));
  const actions: Action[] = desired.map((want): Action => {
    const o = have.get(key(want));
    if (!o) return { type: 'create', object: want, reason: `${want.kind} ${want.metadata?.name} does not exist` };
    const why = whyDifferent(want, o);
    return why ? { type: 'patch', object: want, reason: why } : { type: 'nothing', ref: refOf(want), reason: 'up to date' };
  });
  const wanted = new Set(desired.map(key));
  for (const o of observed) {
    if (!wanted.has(key(o))) actions.push({ type: 'delete', ref: refOf(o), reason: `${o.kind} ${o.metadata?.name} is no longer desired` });
  }
  return actions;
}

/** The actions that change something (what reconcile sends to the apiserver). */
export const changes = (actions: Action[]) => actions.filter((a) => a.type !== 'nothing');
