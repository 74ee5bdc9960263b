/**
 * The users list of the proxy config, as a PgBouncer-style userlist.txt (`"user" "password"` per
 * line) or a YAML/JSON list of {username, password}, and which kind of password each entry holds.
 *
 * A password is one of three kinds, told apart the way PostgreSQL tells them apart:
 *  - plaintext: works for every client auth method and is what the proxy logs in to the database with;
 *  - an MD5 hash (`md5` + 32 hex digits): checks MD5 client logins only, and can log in to a database
 *    that asks for MD5 (the hash is as good as the password there), but not to one that asks for SCRAM;
 *  - a SCRAM verifier (`SCRAM-SHA-256$…`, pg_authid's format): checks SCRAM client logins only and can
 *    never log in to the database, which needs the password itself.
 */
import { LineCounter, parseDocument, isSeq } from 'yaml';
import { isMd5Hash, parseScramVerifier } from './password-formats.js';

export interface UserEntry {
  username: string;
  password: string;
  /** Where the entry came from (`users.txt:3`), for error messages; absent for inline config users. */
  source?: string;
}

export type PasswordKind = 'plaintext' | 'md5' | 'scram';
export type ClientAuthMethod = 'scram' | 'md5' | 'trust';

export class UsersFileError extends Error {
  override name = 'UsersFileError';
}

export function passwordKind(password: string): PasswordKind {
  if (isMd5Hash(password)) return 'md5';
  return password.startsWith('SCRAM-SHA-256$') ? 'scram' : 'plaintext';
}

/** Parses a users file in either format; every error names the file and, where known, the line. */
export function parseUsersFile(text: string, fileName: string): UserEntry[] {
  const entries = looksLikeUserlist(text) ? parseUserlist(text, fileName) : parseStructured(text, fileName);
  const seen = new Map<string, string>();
  for (const e of entries) {
    const where = e.source ?? fileName;
    if (e.username === '') throw new UsersFileError(`${where}: empty user name`);
    if (passwordKind(e.password) === 'scram' && !parseScramVerifier(e.password)) {
      throw new UsersFileError(
        `${where}: user "${e.username}" has a malformed SCRAM verifier (expected SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, as in pg_authid)`,
      );
    }
    const first = seen.get(e.username);
    if (first !== undefined) throw new UsersFileError(`${where}: user "${e.username}" is listed twice (first at ${first})`);
    seen.set(e.username, where);
  }
  return entries;
}

/** userlist.txt if the first line that is not blank or a comment starts with a quote. */
function looksLikeUserlist(text: string): boolean {
  const first = text.split(/\r?\n/).find((l) => !/^\s*([;#].*)?$/.test(l));
  return first === undefined || first.trimStart().startsWith('"');
}

function parseUserlist(text: string, fileName: string): UserEntry[] {
  const out: UserEntry[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const l = line.trim();
    if (l === '' || l.startsWith(';') || l.startsWith('#')) return;
    // PgBouncer ignores whatever follows the second field.
    const m = /^"((?:[^"]|"")*)"\s+"((?:[^"]|"")*)"(?:\s.*)?$/.exec(l);
    if (!m) throw new UsersFileError(`${fileName}:${i + 1}: expected "username" "password" (a quote inside a field is written "")`);
    out.push({ username: m[1]!.replace(/""/g, '"'), password: m[2]!.replace(/""/g, '"'), source: `${fileName}:${i + 1}` });
  });
  return out;
}

function parseStructured(text: string, fileName: string): UserEntry[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  const first = doc.errors[0];
  if (first) {
    const line = first.linePos?.[0].line;
    throw new UsersFileError(`${fileName}${line ? `:${line}` : ''}: not a userlist.txt and not valid YAML/JSON: ${first.message.split('\n')[0]}`);
  }
  const items = doc.contents;
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (err) {
    throw new UsersFileError(`${fileName}: not valid YAML/JSON: ${(err as Error).message}`);
  }
  if (!isSeq(items) || !Array.isArray(data)) {
    throw new UsersFileError(`${fileName}: expected a list of {username, password} (or "user" "password" lines)`);
  }
  return data.map((e: unknown, i) => {
    const offset = (items.items[i] as { range?: [number, number, number] } | null)?.range?.[0];
    const where = offset === undefined ? `${fileName}: entry ${i + 1}` : `${fileName}:${lines.linePos(offset).line}`;
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw new UsersFileError(`${where}: expected {username: string, password: string}`);
    const r = e as Record<string, unknown>;
    const extra = Object.keys(r).filter((k) => k !== 'username' && k !== 'password');
    if (extra.length > 0) throw new UsersFileError(`${where}: unknown field "${extra[0]}" (only username and password)`);
    if (typeof r['username'] !== 'string') throw new UsersFileError(`${where}: username must be a string`);
    if (typeof r['password'] !== 'string') throw new UsersFileError(`${where}: password must be a string (quote numbers)`);
    return { username: r['username'], password: r['password'], source: where };
  });
}

/**
 * Why this user cannot be used with this client auth method, or undefined if it can. With `trust`
 * the entry only supplies the database password, so a SCRAM verifier is useless there.
 */
export function clientAuthProblem(e: UserEntry, method: ClientAuthMethod): string | undefined {
  const kind = passwordKind(e.password);
  if (method === 'scram' && kind === 'md5') {
    return `user "${e.username}" has an MD5 hash, which cannot check SCRAM-SHA-256 logins: give the plaintext password or a SCRAM verifier, or use auth method md5`;
  }
  if (method === 'md5' && kind === 'scram') {
    return `user "${e.username}" has a SCRAM verifier, which cannot check MD5 logins: give the plaintext password or an MD5 hash, or use auth method scram`;
  }
  if (method === 'trust' && kind === 'scram') {
    return `user "${e.username}" has only a SCRAM verifier: with auth method trust the users list only supplies the password the proxy logs in to the database with, and that must be the plaintext password`;
  }
  return undefined;
}
