/**
 * One TokenReview (authentication.k8s.io/v1): asks the apiserver whether a bearer token is valid for
 * the given audiences and whose it is. The caller's ServiceAccount needs `create tokenreviews`
 * (the built-in ClusterRole system:auth-delegator). The token is only ever in the request body.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { postJson } from './request.js';

export interface TokenReviewResult {
  authenticated: boolean;
  /** e.g. `system:serviceaccount:NAMESPACE:NAME`. */
  username?: string;
  /** The audiences the token is valid for, of those asked for. */
  audiences?: string[];
  /** Why the apiserver did not authenticate it (the apiserver's words). */
  error?: string;
}

interface TokenReviewBody {
  status?: { authenticated?: boolean; user?: { username?: string }; audiences?: string[]; error?: string };
}

export type ReviewToken = (token: string, audiences: string[], timeoutMs: number) => Promise<TokenReviewResult>;

/** A ReviewToken bound to a KubeConfig; HTTP failures (403: no RBAC grant, timeouts) reject. */
export function tokenReviewer(kc: KubeConfig): ReviewToken {
  return async (token, audiences, timeoutMs) => {
    const body = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences } };
    const res = await postJson<TokenReviewBody>(kc, '/apis/authentication.k8s.io/v1/tokenreviews', body, timeoutMs);
    const st = res.status ?? {};
    const out: TokenReviewResult = { authenticated: st.authenticated === true };
    if (st.user?.username !== undefined) out.username = st.user.username;
    if (st.audiences !== undefined) out.audiences = st.audiences;
    if (st.error !== undefined) out.error = st.error;
    return out;
  };
}
