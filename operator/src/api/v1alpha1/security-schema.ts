/**
 * The security parts of the DBProxy spec: client TLS, backend TLS, Kubernetes identity auth and the
 * client connection limits (schema.ts puts them together; docs/operator.md describes each field).
 */
import { z } from 'zod';
import { duration, name } from './fields.js';

export const ClientTLSSchema = z.object({
  secretRef: z.object({ name }),
  minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2').meta({ description: 'The oldest TLS version a client may use.' }),
  clientCertificates: z.enum(['None', 'VerifyCA', 'VerifyFull']).default('None').meta({
    description:
      "Client certificates, as PostgreSQL's clientcert: VerifyCA needs one signed by the Secret's ca.crt, VerifyFull also its CN to be the user name. The Secret's ca.crt is used only then.",
  }),
});

export const CLIENT_TLS_DESCRIPTION =
  'A kubernetes.io/tls Secret (tls.crt, tls.key, optional ca.crt; cert-manager shape) for client connections. A change of its content is picked up by the running pods (no restart).';

/** The proxy's sslmode for each CRD name (contract/config/backend-tls.ts has the rules). */
export const SSL_MODE_NAMES = { Disable: 'disable', Prefer: 'prefer', Require: 'require', VerifyCA: 'verify-ca', VerifyFull: 'verify-full' } as const;
type SslModeName = keyof typeof SSL_MODE_NAMES;
const SSL_MODE_LIST = Object.keys(SSL_MODE_NAMES) as [SslModeName, ...SslModeName[]];

export const BackendTLSSchema = z
  .object({
    sslMode: z.enum(SSL_MODE_LIST).default('Prefer').meta({
      description:
        "libpq's sslmode: Disable; Prefer (TLS when the server offers it); Require (TLS, any certificate; with caSecretRef the chain is checked); VerifyCA (the chain); VerifyFull (the chain and the host name).",
    }),
    caSecretRef: z
      .object({
        name,
        key: z
          .string()
          .min(1)
          .max(253)
          .regex(/^[-._a-zA-Z0-9]+$/, 'a Secret key')
          .default('ca.crt'),
      })
      .optional()
      .meta({ description: "A Secret holding the PEM CA that signed the servers' certificates (key default ca.crt); needed by VerifyCA and VerifyFull." }),
    serverName: z.string().min(1).max(253).optional().meta({
      description:
        "The name VerifyFull checks the server certificate for (and the SNI). Default: each target's host; serviceRef targets are pod IPs, so set this (e.g. the Service's DNS name) unless the certificate carries those IPs.",
    }),
  })
  .superRefine((t, ctx) => {
    if ((t.sslMode === 'VerifyCA' || t.sslMode === 'VerifyFull') && !t.caSecretRef)
      ctx.addIssue({ code: 'custom', path: ['caSecretRef'], message: `sslMode ${t.sslMode} needs caSecretRef (the CA that signed the servers' certificates)` });
    if (t.sslMode === 'Disable' && (t.caSecretRef || t.serverName))
      ctx.addIssue({
        code: 'custom',
        path: ['sslMode'],
        message: 'sslMode Disable never uses TLS: remove caSecretRef and serverName, or pick another sslMode',
      });
  })
  .meta({
    'x-kubernetes-validations': [
      {
        rule: "!has(self.sslMode) || !(self.sslMode in ['VerifyCA', 'VerifyFull']) || has(self.caSecretRef)",
        message: 'sslMode VerifyCA and VerifyFull need caSecretRef',
      },
      {
        rule: "!has(self.sslMode) || self.sslMode != 'Disable' || (!has(self.caSecretRef) && !has(self.serverName))",
        message: 'sslMode Disable never uses TLS: remove caSecretRef and serverName',
      },
    ],
  });

export const KubernetesAuthSchema = z.object({
  audience: z
    .string()
    .min(1)
    .max(253)
    .optional()
    .meta({ description: 'The audience client tokens must be issued for; default dbproxy.io/NAMESPACE/NAME (this DBProxy).' }),
  rules: z
    .array(
      z.object({
        serviceAccount: z.object({
          namespace: z.string().min(1).max(63).optional().meta({ description: "Default: the DBProxy's namespace." }),
          name: z.string().min(1).max(253).meta({ description: 'A ServiceAccount name, or * for every one in the namespace.' }),
        }),
        users: z
          .array(z.string().min(1).max(128))
          .min(1)
          .max(64)
          .meta({ description: 'Database users it may log in as; each needs a spec.auth Secret (the proxy logs in to the database with it).' }),
      }),
    )
    .min(1)
    .max(64),
  cacheTtl: duration('30s', 'How long the proxy reuses a successful TokenReview (never past the token expiry).'),
});

export const KUBERNETES_AUTH_DESCRIPTION =
  "Kubernetes identity auth (like RDS IAM auth): over TLS (spec.tls), users named in the rules may give a projected ServiceAccount token as their password; the proxy checks it with TokenReview. The operator binds the pods' ServiceAccount X-proxy to system:auth-delegator (ClusterRoleBinding dbproxy:NAMESPACE:NAME:token-review) unless it runs with --token-review-bindings=false.";

/** Each pod's limits on client connections (the proxy's limits.*). */
export const LimitsSchema = z
  .object({
    maxClientConnections: z.number().int().min(1).max(1_000_000).default(20_000).meta({
      description:
        'Client connections per pod, both endpoints and all users together (PgBouncer max_client_conn); past it a client gets FATAL 53300 "sorry, too many clients already".',
    }),
    maxClientConnectionsPerUser: z.number().int().min(1).max(1_000_000).optional().meta({
      description: 'Authenticated client connections per user and pod; past it 53300 "too many connections for role". Unset: no limit of its own.',
    }),
    startupTimeout: duration('10s', 'From accept to a complete StartupMessage (TLS handshake included); a slower client is closed.'),
    authenticationTimeout: duration('60s', "From the StartupMessage to authenticated (PostgreSQL's authentication_timeout); a slower client is closed."),
  })
  .prefault({})
  .meta({ description: 'Limits on the client connections of each proxy pod.' });
