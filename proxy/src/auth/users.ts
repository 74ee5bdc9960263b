/**
 * The users the proxy accepts, from a PgBouncer-style userlist.txt (`"user" "password"` per line) or
 * a YAML/JSON list of {username, password}. The proxy also logs in to the database as each user, so
 * it needs the plaintext password; an md5 or SCRAM verifier is refused with an explanation.
 */
import { parse as parseYaml } from 'yaml';

export interface UserEntry {
  username: string;
  password: string;
}

export class UsersFileError extends Error {
  override name = 'UsersFileError';
}

export function parseUsersFile(text: string, fileName: string): UserEntry[] {
  const trimmed = text.trimStart();
  const entries = trimmed.startsWith('"') || trimmed.startsWith(';') || trimmed.startsWith('#') || trimmed === '' ? parseUserlist(text, fileName) : parseStructured(text, fileName);
  for (const e of entries) {
    if (/^md5[0-9a-f]{32}$/.test(e.password) || e.password.startsWith('SCRAM-SHA-256$')) {
      throw new UsersFileError(
        `${fileName}: user "${e.username}" has a password hash; the proxy needs the plaintext password because it also logs in to the database as that user`,
      );
    }
  }
  return entries;
}

function parseUserlist(text: string, fileName: string): UserEntry[] {
  const out: UserEntry[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const l = line.trim();
    if (l === '' || l.startsWith(';') || l.startsWith('#')) return;
    const m = /^"((?:[^"]|"")*)"\s+"((?:[^"]|"")*)"(\s.*)?$/.exec(l);
    if (!m) throw new UsersFileError(`${fileName}:${i + 1}: expected "username" "password"`);
    out.push({ username: m[1]!.replace(/""/g, '"'), password: m[2]!.replace(/""/g, '"') });
  });
  return out;
}

function parseStructured(text: string, fileName: string): UserEntry[] {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (err) {
    throw new UsersFileError(`${fileName}: not a userlist.txt and not valid YAML/JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(data)) throw new UsersFileError(`${fileName}: expected a list of {username, password}`);
  return data.map((e, i) => {
    if (typeof e !== 'object' || e === null || typeof e.username !== 'string' || typeof e.password !== 'string') {
      throw new UsersFileError(`${fileName}: entry ${i + 1}: expected {username: string, password: string}`);
    }
    return { username: e.username, password: e.password };
  });
}
