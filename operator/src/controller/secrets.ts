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

export type ResolvedSecrets = { ok: true; users: AuthUser[]; backendCa?: string } | { ok: false; problems: string[] };

export function resolveSecrets(spec: DBProxySpec, lookup: SecretLookup): ResolvedSecrets {
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
  // The proxy logs in to the database as the mapped user with that user's Secret; tokens only go over TLS.
  (spec.kubernetesAuth?.rules ?? []).forEach((r, i) =>
    r.users.forEach((name, j) => {
      if (problems.length === 0 && !users.some((u) => u.username === name))
        problems.push(`spec.kubernetesAuth.rules.${i}.users.${j}: user ${name} is not the username of any spec.auth Secret`);
    }),
  );
  if (spec.kubernetesAuth && !spec.tls) problems.push('spec.kubernetesAuth: needs spec.tls (the proxy accepts tokens only over TLS)');
  if (spec.tls) {
    const s = lookup(spec.tls.secretRef.name);
    if (!s) problems.push(`spec.tls: Secret ${spec.tls.secretRef.name} not found`);
    else if (s.data?.['tls.crt'] === undefined || s.data?.['tls.key'] === undefined)
      problems.push(`spec.tls: Secret ${spec.tls.secretRef.name} needs keys tls.crt and tls.key`);
    else if (spec.tls.clientCertificates !== 'None' && s.data?.['ca.crt'] === undefined)
      problems.push(
        `spec.tls: Secret ${spec.tls.secretRef.name} needs key ca.crt to verify client certificates (clientCertificates ${spec.tls.clientCertificates})`,
      );
  }
  const backendCa = resolveBackendCa(spec, lookup, problems);
  return problems.length ? { ok: false, problems } : { ok: true, users, ...(backendCa !== undefined ? { backendCa } : {}) };
}

/** spec.backendTLS's CA (PEM): mounted into the pods, and used by the operator's own probes. */
function resolveBackendCa(spec: DBProxySpec, lookup: SecretLookup, problems: string[]): string | undefined {
  const ref = spec.backendTLS?.caSecretRef;
  if (!ref) return undefined;
  const s = lookup(ref.name);
  if (!s) return void problems.push(`spec.backendTLS.caSecretRef: Secret ${ref.name} not found`);
  const pem = decode(s, ref.key);
  if (pem === undefined) return void problems.push(`spec.backendTLS.caSecretRef: Secret ${ref.name} has no key ${ref.key}`);
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    return void problems.push(`spec.backendTLS.caSecretRef: key ${ref.key} of Secret ${ref.name} holds no PEM certificate`);
  return pem;
}
