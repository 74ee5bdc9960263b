/** The operator's declared API calls (the chart's RBAC is checked against them both ways). */
import {
  LEASE_PERMISSIONS,
  NAMESPACED_PERMISSIONS,
  OPERATOR_PERMISSIONS,
  TOKEN_REVIEW_PERMISSIONS,
  type Permission,
} from '../../../operator/src/controller/permissions.js';

export type { Permission };

export async function operatorPermissions(): Promise<{
  source: string;
  permissions: Permission[];
  namespaced: Permission[];
  lease: Permission[];
  tokenReview: Permission[];
}> {
  return {
    source: 'operator/src/controller/permissions.ts',
    permissions: OPERATOR_PERMISSIONS,
    namespaced: NAMESPACED_PERMISSIONS,
    lease: LEASE_PERMISSIONS,
    tokenReview: TOKEN_REVIEW_PERMISSIONS,
  };
}
