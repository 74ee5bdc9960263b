/**
 * Kubernetes identity auth, the analog of RDS IAM auth: a client of a user named in the rules may
 * give a projected ServiceAccount token (audience: the DBProxy's) as its password. The proxy asks
 * TokenReview whether the token is valid for that audience and whose it is, and lets it in when a
 * rule allows that ServiceAccount the user. Reviews are cached briefly by the token's hash; the
 * token is never logged nor kept.
 */
import type { Logger } from 'pino';
import type { KubernetesAuthConfig } from '../../../contract/config/schema.js';
import { HttpStatusError } from '../../../contract/kube/request.js';
import { loadKubeConfig } from '../../../contract/kube/kube.js';
import { tokenReviewer, type ReviewToken, type TokenReviewResult } from '../../../contract/kube/token-review.js';
import { identityUsers, jwtExpiry, ruleAllows, serviceAccountOf, type IdentityRule, type ServiceAccountRef } from './identity-rules.js';
import { ReviewCache, tokenKey } from './review-cache.js';

export type IdentityVerdict =
  | { ok: true; serviceAccount: ServiceAccountRef }
  /** `why` is for the proxy's log only (the client gets `message`); it never holds the token. */
  | { ok: false; sqlstate: string; message: string; why: string };

export class IdentityAuth {
  readonly audience: string;
  /** Ask users named in the rules for a token on connections without TLS too. */
  readonly allowPlaintext: boolean;
  private readonly rules: readonly IdentityRule[];
  private readonly users: Set<string>;
  private readonly timeoutMs: number;
  private readonly cache: ReviewCache;
  /** One review per token at a time: a burst of connections with the same token shares it. */
  private readonly inflight = new Map<string, Promise<TokenReviewResult>>();

  constructor(
    readonly cfg: KubernetesAuthConfig,
    private readonly review: ReviewToken,
    private readonly log: Logger,
    now: () => number = Date.now,
  ) {
    this.audience = cfg.audience;
    this.allowPlaintext = cfg.allowPlaintext;
    this.rules = cfg.rules;
    this.users = identityUsers(cfg.rules);
    this.timeoutMs = cfg.timeout;
    this.cache = new ReviewCache(cfg.cacheTtl, now);
  }

  /** Whether `user` may log in with a token (then the proxy asks for a cleartext password). */
  covers(user: string): boolean {
    return this.users.has(user);
  }

  /** Never rejects: every failure is a verdict the handshake turns into the client's error. */
  async verify(token: string, user: string): Promise<IdentityVerdict> {
    let result: TokenReviewResult;
    try {
      result = await this.reviewed(token);
    } catch (err) {
      const why =
        err instanceof HttpStatusError && err.code === 403
          ? 'TokenReview forbidden: the proxy needs create tokenreviews (system:auth-delegator)'
          : (err as Error).message;
      return this.refused(user, '08006', 'could not verify the Kubernetes token: the Kubernetes API did not answer; try again', `TokenReview failed: ${why}`);
    }
    const failed = `password authentication failed for user "${user}"`;
    if (!result.authenticated) return this.refused(user, '28P01', failed, `token not authenticated: ${result.error ?? 'no reason given'}`);
    if (result.audiences !== undefined && !result.audiences.includes(this.audience)) {
      return this.refused(user, '28P01', failed, `token not valid for audience ${this.audience}`);
    }
    const sa = serviceAccountOf(result.username);
    if (!sa)
      return this.refused(
        user,
        '28000',
        `Kubernetes authentication failed for user "${user}": the token is not a ServiceAccount's`,
        `identity ${result.username} is not a ServiceAccount`,
      );
    if (!ruleAllows(this.rules, sa, user)) {
      return this.refused(
        user,
        '28000',
        `Kubernetes authentication failed for user "${user}": ServiceAccount ${sa.namespace}/${sa.name} is not allowed this user`,
        `no rule maps ServiceAccount ${sa.namespace}/${sa.name} to user ${user}`,
      );
    }
    this.log.debug({ user, serviceAccount: `${sa.namespace}/${sa.name}` }, 'Kubernetes token accepted');
    return { ok: true, serviceAccount: sa };
  }

  private async reviewed(token: string): Promise<TokenReviewResult> {
    const key = tokenKey(token);
    const cached = this.cache.get(key);
    if (cached) return cached;
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.review(token, [this.audience], this.timeoutMs).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
      // Failures to reach the apiserver are not cached: the next client tries again.
      pending.then((r) => this.cache.set(key, r, jwtExpiry(token))).catch(() => {});
    }
    return pending;
  }

  private refused(user: string, sqlstate: string, message: string, why: string): IdentityVerdict {
    this.log.info({ user, sqlstate, why }, 'Kubernetes token refused');
    return { ok: false, sqlstate, message, why };
  }
}

/**
 * The IdentityAuth for a (re)loaded config: the previous one while `auth.kubernetes` is unchanged
 * (its cache stays warm), none without the section. The apiserver client is the proxy's own
 * KubeConfig (KUBECONFIG or ~/.kube/config, else the pod's ServiceAccount), loaded once.
 */
export function identityAuthFor(
  cfg: KubernetesAuthConfig | undefined,
  prev: IdentityAuth | undefined,
  log: Logger,
  review?: ReviewToken,
): IdentityAuth | undefined {
  if (!cfg) return undefined;
  if (prev && JSON.stringify(prev.cfg) === JSON.stringify(cfg)) return prev;
  return new IdentityAuth(cfg, review ?? defaultReviewer(), log);
}

let kubeReviewer: ReviewToken | undefined;

function defaultReviewer(): ReviewToken {
  if (kubeReviewer) return kubeReviewer;
  try {
    kubeReviewer = tokenReviewer(loadKubeConfig());
  } catch (err) {
    // No usable kubeconfig: each review fails (08006, logged) instead of the config being refused.
    const why = `no Kubernetes API client: ${(err as Error).message}`;
    return () => Promise.reject(new Error(why));
  }
  return kubeReviewer;
}
