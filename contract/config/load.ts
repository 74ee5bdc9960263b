/** Reads and validates the proxy config; every problem is reported at once, one per line. */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { clientAuthProblem, parseUsersFile, type UserEntry } from './users-file.js';
import { configErrorMap, describeIssues } from './issues.js';
import { AuthConfigSchema, ProxyConfigSchema, type AuthConfig, type ProxyConfig } from './schema.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid config (${source}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/**
 * Validates a config object and applies every default. `baseDir` (the config file's directory)
 * resolves a relative auth.usersFile, tls.certFile, tls.keyFile, tls.caFile; the users file is read here and
 * its users are merged into auth.users.
 */
export function parseConfig(obj: unknown, source: string, baseDir = process.cwd()): ProxyConfig {
  const r = ProxyConfigSchema.safeParse(obj ?? {}, { error: configErrorMap });
  const problems = r.success ? [] : describeIssues(r.error.issues);
  // The users are checked even when something else is wrong, so one run lists every problem.
  const auth = r.success ? r.data.auth : AuthConfigSchema.safeParse(authSection(obj)).data;
  if (auth) problems.push(...loadUsers(auth, baseDir));
  if (r.success) problems.push(...adminProblems(r.data.admin.users, r.data.auth));
  if (problems.length > 0 || !r.success) throw new ConfigError(source, problems);
  const config = r.data;
  if (config.tls?.certFile) config.tls.certFile = path.resolve(baseDir, config.tls.certFile);
  if (config.tls?.keyFile) config.tls.keyFile = path.resolve(baseDir, config.tls.keyFile);
  if (config.tls?.caFile) config.tls.caFile = path.resolve(baseDir, config.tls.caFile);
  if (config.backendTls.caFile) config.backendTls.caFile = path.resolve(baseDir, config.backendTls.caFile);
  if (config.admin.statusTokenFile) config.admin.statusTokenFile = path.resolve(baseDir, config.admin.statusTokenFile);
  return config;
}

function authSection(obj: unknown): unknown {
  return typeof obj === 'object' && obj !== null ? ((obj as Record<string, unknown>)['auth'] ?? {}) : undefined;
}

/** Reads auth.usersFile into auth.users (in place) and checks the users; returns the problems. */
function loadUsers(auth: AuthConfig, baseDir: string): string[] {
  if (auth.usersFile) {
    const file = path.resolve(baseDir, auth.usersFile);
    auth.usersFile = file;
    try {
      auth.users = [...auth.users, ...parseUsersFile(readFileSync(file, 'utf8'), file)];
    } catch (err) {
      return [`auth.usersFile: ${(err as Error).message}`];
    }
  }
  return userProblems(auth);
}

/** Users against the client auth method: kinds of password that cannot work, duplicates, none at all. */
function userProblems({ method, users }: AuthConfig): string[] {
  const where = (u: UserEntry, i: number) => (u.source ? `auth.usersFile (${u.source})` : `auth.users.${i}`);
  const problems: string[] = [];
  const seen = new Set<string>();
  users.forEach((u, i) => {
    const problem = clientAuthProblem(u, method);
    if (problem) problems.push(`${where(u, i)}: ${problem}`);
    if (seen.has(u.username)) problems.push(`${where(u, i)}: user "${u.username}" is listed twice`);
    seen.add(u.username);
  });
  if (method !== 'trust' && users.length === 0) {
    problems.push(
      `auth: method ${method} needs at least one user (auth.users or auth.usersFile); to let every client in unchecked, set method: trust explicitly`,
    );
  }
  return problems;
}

/** Admin users log in as clients do: unless auth is trust, each must be one of the users. */
function adminProblems(admins: string[], { method, users }: AuthConfig): string[] {
  if (method === 'trust') return [];
  const known = new Set(users.map((u) => u.username));
  return admins.flatMap((a, i) =>
    known.has(a) ? [] : [`admin.users.${i}: user "${a}" is not among the users (auth.users or auth.usersFile), so it cannot log in to the admin console`],
  );
}

export async function loadConfigFile(file: string): Promise<ProxyConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as Error).message}`]);
  }
  return parseConfigText(text, file);
}

/** YAML or JSON (YAML is a superset of JSON, so one parser decides by content). */
export function parseConfigText(text: string, file: string): ProxyConfig {
  let obj: unknown;
  try {
    obj = parseYaml(text);
  } catch (err) {
    throw new ConfigError(file, [`not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`]);
  }
  return parseConfig(obj, file, path.dirname(path.resolve(file)));
}
