/** Reads and validates the proxy config; every problem is reported at once, one per line. */
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { parseUsersFile } from '../auth/users.js';
import { ProxyConfigSchema, type ProxyConfig } from './schema.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid config (${source}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

function describeIssues(issues: z.core.$ZodIssue[]): string[] {
  return issues.map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`);
}

/** Validates a config object; `baseDir` resolves a relative auth.usersFile. */
export function parseConfig(obj: unknown, source: string, baseDir = process.cwd()): ProxyConfig {
  const r = ProxyConfigSchema.safeParse(obj ?? {});
  if (!r.success) throw new ConfigError(source, describeIssues(r.error.issues));
  const config = r.data;
  const problems: string[] = [];
  if (config.auth.usersFile) {
    const file = path.resolve(baseDir, config.auth.usersFile);
    try {
      config.auth.users = [...config.auth.users, ...parseUsersFile(readFileSync(file, 'utf8'), file)];
    } catch (err) {
      problems.push(`auth.usersFile: ${(err as Error).message}`);
    }
  }
  if (config.auth.method !== 'trust' && config.auth.users.length === 0 && problems.length === 0) {
    problems.push(`auth: method ${config.auth.method} needs at least one user (auth.users or auth.usersFile), or set method: trust explicitly`);
  }
  const seen = new Set<string>();
  for (const u of config.auth.users) {
    if (seen.has(u.username)) problems.push(`auth.users: user "${u.username}" is listed twice`);
    seen.add(u.username);
  }
  if (problems.length > 0) throw new ConfigError(source, problems);
  return config;
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

export function parseConfigText(text: string, file: string): ProxyConfig {
  let obj: unknown;
  try {
    obj = parseYaml(text); // YAML is a superset of JSON
  } catch (err) {
    throw new ConfigError(file, [`not valid YAML or JSON: ${(err as Error).message}`]);
  }
  return parseConfig(obj, file, path.dirname(path.resolve(file)));
}
