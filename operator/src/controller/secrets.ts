/** The Secrets a DBProxy names, resolved purely from the informer cache: auth users and the TLS pair. */
import type { DBProxySpec } from '../api/v1alpha1/schema.js';
import type { AuthUser } from './render-config.js';

export interface SecretLike {
  metadata?: { name?: string; namespace?: string };
  data?: Record<string, string> | null;
}

export type SecretLookup = (name: string) => SecretLike | undefined;

const decode = (s: SecretLike, key: string): string | undefined => {
  const v = s.data?.[key];
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
};

export function resolveSecrets(spec: DBProxySpec, lookup: SecretLookup): { ok: true; users: AuthUser[] } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const users: AuthUser[] = [];
  spec.auth.forEach((a, i) => {
    const s = lookup(a.secretRef.name);
    if (!s) return void problems.push(`spec.auth.${i}: Secret ${a.secretRef.name} not found`);
    const username = decode(s, 'username');
    const password = decode(s, 'password');
    if (!username || password === undefined) return void problems.push(`spec.auth.${i}: Secret ${a.secretRef.name} needs keys username and password`);
    if (users.some((u) => u.username === username)) return void problems.push(`spec.auth.${i}: user ${username} appears in two Secrets`);
    users.push({ username, password });
  });
  (spec.adminUsers ?? []).forEach((name, i) => {
    // Only a user the proxy knows can log in to its console; a Secret still missing is reported above.
    if (problems.length === 0 && !users.some((u) => u.username === name))
      problems.push(`spec.adminUsers.${i}: user ${name} is not the username of any spec.auth Secret`);
  });
  if (spec.tls) {
    const s = lookup(spec.tls.secretRef.name);
    if (!s) problems.push(`spec.tls: Secret ${spec.tls.secretRef.name} not found`);
    else if (s.data?.['tls.crt'] === undefined || s.data?.['tls.key'] === undefined)
      problems.push(`spec.tls: Secret ${spec.tls.secretRef.name} needs keys tls.crt and tls.key`);
  }
  return problems.length ? { ok: false, problems } : { ok: true, users };
}
