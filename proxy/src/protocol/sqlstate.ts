/** SQLSTATE codes the proxy itself uses (PostgreSQL Appendix A). */
export const SQLSTATE = {
  protocolViolation: '08P01',
  connectionFailure: '08006',
  sqlclientUnableToEstablish: '08001',
  invalidAuthorization: '28000',
  invalidPassword: '28P01',
  tooManyConnections: '53300',
  programLimitExceeded: '54000',
  adminShutdown: '57P01',
  cannotConnectNow: '57P03',
  queryCanceled: '57014',
  idleSessionTimeout: '57P05',
  featureNotSupported: '0A000',
  inFailedTransaction: '25P02',
  internalError: 'XX000',
} as const;
