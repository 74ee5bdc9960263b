import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { md5PasswordHash, md5Response } from './md5.js';
import { formatScramVerifier, ScramClient, ScramServer, scramSecretFromPassword } from './scram.js';
import { BackendPasswordError, clientAuthProblem, parseUsersFile, passwordKind, UserStore, UsersFileError } from './users.js';

const VERIFIER = formatScramVerifier(scramSecretFromPassword('pw', { iterations: 32 }));
const MD5 = md5PasswordHash('app', 'pw');
const strip = (entries: { username: string; password: string }[]) => entries.map(({ username, password }) => ({ username, password }));

describe('parseUsersFile: userlist.txt', () => {
  it('reads quoted pairs, "" escapes, comments and trailing fields', () => {
    const text = [
      '; PgBouncer-style comment',
      '# another comment',
      '',
      '"app" "s3cret"',
      '  "we""ird" "pa ss""word"   ignored trailing text',
      `"hashed" "${MD5}"`,
      `"scram" "${VERIFIER}"`,
      '"empty" ""',
    ].join('\r\n');
    expect(strip(parseUsersFile(text, 'users.txt'))).toEqual([
      { username: 'app', password: 's3cret' },
      { username: 'we"ird', password: 'pa ss"word' },
      { username: 'hashed', password: MD5 },
      { username: 'scram', password: VERIFIER },
      { username: 'empty', password: '' },
    ]);
    expect(parseUsersFile(text, 'users.txt')[1]!.source).toBe('users.txt:5');
  });

  it('an empty or comment-only file has no users', () => {
    expect(parseUsersFile('', 'u.txt')).toEqual([]);
    expect(parseUsersFile('; nothing\n\n', 'u.txt')).toEqual([]);
  });
});

describe('parseUsersFile: YAML and JSON', () => {
  it.each([
    ['YAML', '# users\n- username: app\n  password: s3cret\n- { username: other, password: "123" }\n'],
    ['JSON', '[{"username": "app", "password": "s3cret"}, {"username": "other", "password": "123"}]'],
  ])('%s list', (_, text) => {
    expect(strip(parseUsersFile(text, 'users.yaml'))).toEqual([
      { username: 'app', password: 's3cret' },
      { username: 'other', password: '123' },
    ]);
  });
});

describe('parseUsersFile errors name the file and line', () => {
  it.each([
    ['"app" s3cret', 'users.txt:1: expected "username" "password"'],
    ['"ok" "x"\n\n"app"', 'users.txt:3: expected "username" "password"'],
    ['"app" "a"\n"app" "b"', 'users.txt:2: user "app" is listed twice (first at users.txt:1)'],
    ['"" "x"', 'users.txt:1: empty user name'],
    ['"app" "SCRAM-SHA-256$4096:abc"', 'users.txt:1: user "app" has a malformed SCRAM verifier'],
    ['- username: app\n  password: 12\n', 'users.txt:1: password must be a string (quote numbers)'],
    ['- username: a\n  password: b\n- username: app\n', 'users.txt:3: password must be a string'],
    ['- username: app\n  password: x\n  role: admin\n', 'users.txt:1: unknown field "role"'],
    ['- just a string\n', 'users.txt:1: expected {username: string, password: string}'],
    ['username: app\npassword: x\n', 'users.txt: expected a list of {username, password}'],
    ['- username: [unclosed\n', 'users.txt:2: not a userlist.txt and not valid YAML/JSON'],
  ])('%j', (text, message) => {
    const err = (() => {
      try {
        parseUsersFile(text, 'users.txt');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(UsersFileError);
    expect((err as Error).message).toContain(message);
  });
});

describe('password kinds against auth methods', () => {
  it('tells kinds apart as PostgreSQL does', () => {
    expect(passwordKind('pw')).toBe('plaintext');
    expect(passwordKind(MD5)).toBe('md5');
    expect(passwordKind(MD5.toUpperCase())).toBe('plaintext');
    expect(passwordKind(VERIFIER)).toBe('scram');
  });

  it.each([
    ['plaintext', 'scram', 'pw', undefined],
    ['plaintext', 'md5', 'pw', undefined],
    ['plaintext', 'trust', 'pw', undefined],
    ['md5', 'scram', MD5, /MD5 hash, which cannot check SCRAM-SHA-256 logins/],
    ['md5', 'md5', MD5, undefined],
    ['md5', 'trust', MD5, undefined],
    ['scram', 'scram', VERIFIER, undefined],
    ['scram', 'md5', VERIFIER, /SCRAM verifier, which cannot check MD5 logins/],
    ['scram', 'trust', VERIFIER, /only a SCRAM verifier.*must be the plaintext password/],
  ] as const)('%s password, %s client auth', (_, method, password, problem) => {
    const p = clientAuthProblem({ username: 'app', password }, method);
    if (problem === undefined) expect(p).toBeUndefined();
    else expect(p).toMatch(problem);
  });
});

describe('UserStore', () => {
  const store = new UserStore([
    { username: 'plain', password: 'pw' },
    { username: 'app', password: MD5 },
    { username: 'verifier', password: VERIFIER },
  ]);

  it('looks users up by exact name', () => {
    expect(store.size).toBe(3);
    expect(store.lookup('plain')?.kind).toBe('plaintext');
    expect(store.lookup('Plain')).toBeUndefined();
    expect(store.usernames()).toEqual(['plain', 'app', 'verifier']);
  });

  it('checks SCRAM logins for plaintext and verifier users, and fails unknown or md5-only users', () => {
    const login = (user: string, password: string): boolean => {
      const { secret, known } = store.scramSecretFor(user);
      const s = new ScramServer(secret);
      const c = new ScramClient(password);
      return s.handleClientFinal(c.handleServerFirst(s.handleClientFirst(c.clientFirst()))).ok && known;
    };
    expect(login('plain', 'pw')).toBe(true);
    expect(login('plain', 'nope')).toBe(false);
    expect(login('verifier', 'pw')).toBe(true);
    expect(login('verifier', VERIFIER)).toBe(false);
    expect(login('app', 'pw')).toBe(false);
    expect(login('ghost', 'pw')).toBe(false);
  });

  it('gives unknown users a mock salt that is stable per name, like PostgreSQL', () => {
    expect(store.scramSecretFor('ghost').secret.salt).toEqual(store.scramSecretFor('ghost').secret.salt);
    expect(store.scramSecretFor('ghost').secret.salt).not.toEqual(store.scramSecretFor('ghost2').secret.salt);
    expect(store.scramSecretFor('plain').secret).toBe(store.scramSecretFor('plain').secret); // derived once
  });

  it('gives MD5 logins the password or hash', () => {
    const salt = Buffer.from([1, 2, 3, 4]);
    expect(md5Response('app', store.lookup('app')!.md5Secret()!, salt)).toBe(md5Response('app', 'pw', salt));
    expect(store.lookup('verifier')!.md5Secret()).toBeUndefined();
  });

  it('gives a database login the plaintext, the hash only for md5, and a clear error otherwise', () => {
    expect(store.lookup('plain')!.backendPassword('scram')).toBe('pw');
    expect(store.lookup('plain')!.backendPassword('cleartext')).toBe('pw');
    expect(store.lookup('app')!.backendPassword('md5')).toBe(MD5);
    expect(() => store.lookup('app')!.backendPassword('scram')).toThrow(BackendPasswordError);
    expect(() => store.lookup('app')!.backendPassword('scram')).toThrow(/only an MD5 hash.*works only when the database uses md5/);
    expect(() => store.lookup('verifier')!.backendPassword('md5')).toThrow(/only a SCRAM verifier for it; the proxy needs the plaintext password/);
  });
});

describe('parseUsersFile never fails with anything but UsersFileError (property)', () => {
  const pieces = fc.constantFrom(
    '"',
    '""',
    ' ',
    '\n',
    ';',
    '#',
    '- ',
    'username: ',
    'password: ',
    '{',
    '}',
    '[',
    ']',
    ',',
    ':',
    '&a ',
    '*a',
    'app',
    'md5',
    'SCRAM-SHA-256$',
  );
  it('holds for arbitrary and near-miss text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.array(pieces, { maxLength: 20 }).map((a) => a.join('')),
        ),
        (text) => {
          try {
            const users = parseUsersFile(text, 'f');
            for (const u of users) expect(typeof u.username === 'string' && typeof u.password === 'string').toBe(true);
          } catch (err) {
            expect(err).toBeInstanceOf(UsersFileError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
