/** Every differential scenario, by theme, and the one list of known transaction-pooling limits. */
import type { Scenario } from '../testing/differential.js';
import { copyScenarios } from './copy.js';
import { describeCloseScenarios } from './describe-close.js';
import { extendedScenarios } from './extended.js';
import { flushScenarios } from './flush.js';
import { functionCallScenarios } from './functioncall.js';
import { pipelineScenarios } from './pipelines.js';
import { portalScenarios } from './portals.js';
import { simpleScenarios } from './simple.js';
import { startupScenarios } from './startup.js';
import { statementScenarios } from './statements.js';
import { terminateScenarios } from './terminate.js';
import { transactionScenarios } from './transactions.js';

export { cutCases } from './terminate.js';
export { malformedCases, type MalformedCase } from './malformed.js';

export const validScenarios: Scenario[] = [
  ...simpleScenarios,
  ...extendedScenarios,
  ...pipelineScenarios,
  ...copyScenarios,
  ...portalScenarios,
  ...describeCloseScenarios,
  ...functionCallScenarios,
  ...flushScenarios,
  ...terminateScenarios,
  ...statementScenarios,
  ...transactionScenarios,
  ...startupScenarios,
];

/**
 * Differences inherent to transaction pooling, that no pooler can avoid. Their transcripts are not
 * required to be equal (the bystander checks still apply), and the test fails when one becomes
 * equal, so the list cannot go stale. Keep it short: a difference a real client would notice and a
 * pooler could avoid is a bug, not a limit.
 */
export const KNOWN_LIMITS: { name: string; reason: string }[] = [
  {
    name: 'simple/reset-startup-parameter-and-show-in-one-string',
    reason:
      "RESET goes back to the backend's own session default: the backend was opened without this client's startup parameters (the proxy sets them), and it can set them back only after the string",
  },
  {
    name: 'simple/backend-pid-matches-key-data',
    reason: "pg_backend_pid() is the pooled server process's, not the process id the proxy gave the client in BackendKeyData",
  },
  {
    name: 'statement/pg-prepared-statements-view',
    reason: 'the server holds protocol statements under the proxy names that keep clients apart on a shared backend',
  },
  {
    name: 'statement/protocol-statement-in-sql-execute',
    reason: 'SQL EXECUTE names the statement as the server knows it, and the server knows it under the proxy name',
  },
];

const names = new Set<string>();
for (const s of validScenarios) {
  if (names.has(s.name)) throw new Error(`two scenarios named ${s.name}`);
  names.add(s.name);
}
for (const k of KNOWN_LIMITS) if (!names.has(k.name)) throw new Error(`KNOWN_LIMITS names no scenario: ${k.name}`);
