/**
 * The token each DBProxy's proxy pods want on `/status` (admin.statusToken): made once at random, kept
 * in the child Secret X-proxy-admin-token (key `token`) for whoever may read /status (the kubectl
 * plugin, monitoring), and rendered into the pods' config. Rotating it: delete that Secret.
 */
import { randomBytes } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import { ADMIN_TOKEN_KEY, childNames } from './names.js';

/** 256 random bits, URL-safe (a header value as it is). */
export function newAdminToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The token in the DBProxy's own token Secret (one of its children), or a new one when it has none yet. */
export function adminTokenOf(dbproxy: string, children: KubernetesObject[], fresh: () => string = newAdminToken): string {
  const name = childNames(dbproxy).adminTokenSecret;
  const secret = children.find((c) => c.kind === 'Secret' && c.metadata?.name === name) as { data?: Record<string, string> } | undefined;
  const b64 = secret?.data?.[ADMIN_TOKEN_KEY];
  const token = b64 === undefined ? '' : Buffer.from(b64, 'base64').toString('utf8');
  // Shorter than the proxy accepts (someone edited it): a fresh one rather than a config the pods refuse.
  return /^[\x21-\x7e]{16,}$/.test(token) ? token : fresh();
}
