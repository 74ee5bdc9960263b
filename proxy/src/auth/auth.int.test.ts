/**
 * The proxy's backend-side auth (ScramClient, md5Response) and its secret derivation (SASLprep,
 * scramSecretFromPassword) against a real PostgreSQL 15 with scram-sha-256, md5 and password
 * (cleartext) pg_hba rules. Logins go over a raw socket: pg-protocol's serialize writes the
 * messages, a tiny reader below splits the replies.
 */
import net from 'node:net';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PgInstance } from '../testing/postgres.js';
import { md5PasswordHash, md5Response } from './md5.js';
import { parseScramVerifier, ScramClient, ScramServer, scramSecretFromPassword } from './scram.js';

class LoginError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Reads whole backend messages (type byte, int32 length, body) from a socket. */
function messageReader(socket: net.Socket): () => Promise<{ type: string; body: Buffer }> {
  let buf = Buffer.alloc(0);
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    wake?.();
  });
  const fail = (err: Error) => {
    failure = err;
    wake?.();
  };
  socket.on('error', fail);
  socket.on('close', () => fail(new Error('connection closed')));
  return async () => {
    for (;;) {
      if (buf.length >= 5 && buf.length >= 1 + buf.readInt32BE(1)) {
        const len = buf.readInt32BE(1);
        const msg = { type: String.fromCharCode(buf[0]!), body: buf.subarray(5, 1 + len) };
        buf = buf.subarray(1 + len);
        return msg;
      }
      if (failure) throw failure;
      await new Promise<void>((r) => (wake = r));
    }
  };
}

function errorFields(body: Buffer): { code: string; message: string } {
  const fields = new Map<string, string>();
  for (let at = 0; at < body.length && body[at] !== 0; ) {
    const end = body.indexOf(0, at + 1);
    fields.set(String.fromCharCode(body[at]!), body.toString('utf8', at + 1, end));
    at = end + 1;
  }
  return { code: fields.get('C') ?? '', message: fields.get('M') ?? '' };
}

/**
 * Logs in as `user`, answering whatever the server asks for; resolves with the methods it used once
 * ReadyForQuery arrives, rejects with the server's error (or the client's SCRAM verdict).
 * `md5Secret` overrides what md5 answers with (to log in with a stored hash).
 */
async function login(pg: PgInstance, user: string, password: string, md5Secret = password): Promise<string[]> {
  const socket = net.connect(pg.port, pg.host);
  const next = messageReader(socket);
  const used: string[] = [];
  try {
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.write(serialize.startup({ user, database: 'postgres' }));
    let scram: ScramClient | undefined;
    for (;;) {
      const { type, body } = await next();
      if (type === 'E') {
        const e = errorFields(body);
        throw new LoginError(e.code, e.message);
      }
      if (type === 'Z') return used;
      if (type !== 'R') continue; // ParameterStatus, BackendKeyData
      const code = body.readInt32BE(0);
      const data = body.toString('utf8', 4);
      if (code === 3) {
        used.push('cleartext');
        socket.write(serialize.password(password));
      } else if (code === 5) {
        used.push('md5');
        socket.write(serialize.password(md5Response(user, md5Secret, body.subarray(4, 8))));
      } else if (code === 10) {
        used.push('scram');
        expect(data.split('\0')).toContain('SCRAM-SHA-256');
        scram = new ScramClient(password);
        socket.write(serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', scram.clientFirst()));
      } else if (code === 11) {
        socket.write(serialize.sendSCRAMClientFinalMessage(scram!.handleServerFirst(data)));
      } else if (code === 12) {
        scram!.verifyServerFinal(data);
      } else if (code !== 0) {
        throw new Error(`unexpected auth request ${code}`);
      }
    }
  } finally {
    socket.destroy();
  }
}

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

// Passwords PostgreSQL runs through its SASLprep, each with what should (and should not) work.
const PREP_CASES: { role: string; password: string; equivalent?: string; why: string }[] = [
  { role: 'prep_ascii', password: 'plain ASCII: ok', why: 'ASCII passes unchanged' },
  { role: 'prep_latin', password: 'pässwörd', why: 'plain non-ASCII, already NFKC' },
  { role: 'prep_mapped', password: 'a\u00a0b\u00ad\ufb01', equivalent: 'a b\u0066\u0069', why: 'mapping and NFKC' },
  { role: 'prep_decomposed', password: 'e\u0301t\u00e9', equivalent: '\u00e9t\u00e9', why: 'NFKC composes' },
  { role: 'prep_prohibited', password: 'ю\u0007\u00aa', why: 'prohibited: used as given' },
  { role: 'prep_bidi', password: '\u0627\u0031', why: 'bidi rule broken: used as given' },
];

describe('auth against a real PostgreSQL 15', () => {
  let pg: PgInstance;

  beforeAll(async () => {
    pg = await startPostgres({
      settings: { password_encryption: 'scram-sha-256' },
      hba: ['host all md5_user 127.0.0.1/32 md5', 'host all clear_user 127.0.0.1/32 password', 'host all all 127.0.0.1/32 scram-sha-256'],
      users: [
        { name: 'scram_user', password: 's3cret' },
        { name: 'clear_user', password: 'clear-pw' },
      ],
    });
    await pg.query(`set password_encryption = 'md5'; create role md5_user login password 'md5-pw'`);
    for (const c of PREP_CASES) await pg.query(`create role ${c.role} login password ${sqlString(c.password)}`);
  });

  afterAll(async () => {
    await pg?.stop();
  });

  it('SCRAM-SHA-256: the right password logs in and the server proves itself', async () => {
    expect(await login(pg, 'scram_user', 's3cret')).toEqual(['scram']);
  });

  it('SCRAM-SHA-256: a wrong password gets PostgreSQL 28P01', async () => {
    await expect(login(pg, 'scram_user', 'S3cret')).rejects.toMatchObject({
      code: '28P01',
      message: 'password authentication failed for user "scram_user"',
    });
  });

  it('md5: the password and the stored hash both log in; a wrong one is refused', async () => {
    expect(await login(pg, 'md5_user', 'md5-pw')).toEqual(['md5']);
    expect(await login(pg, 'md5_user', '', md5PasswordHash('md5_user', 'md5-pw'))).toEqual(['md5']);
    await expect(login(pg, 'md5_user', 'nope')).rejects.toMatchObject({ code: '28P01' });
  });

  it('md5 rule with a SCRAM-stored password: PostgreSQL switches to SCRAM and we follow', async () => {
    await pg.query(`create role md5_rule_scram_pw login password 'x1'`);
    await pg.query(`alter role md5_user rename to md5_user_old; alter role md5_rule_scram_pw rename to md5_user`);
    try {
      expect(await login(pg, 'md5_user', 'x1')).toEqual(['scram']);
    } finally {
      await pg.query(`alter role md5_user rename to md5_rule_scram_pw; alter role md5_user_old rename to md5_user`);
    }
  });

  it('cleartext password rule', async () => {
    expect(await login(pg, 'clear_user', 'clear-pw')).toEqual(['cleartext']);
    await expect(login(pg, 'clear_user', 'x')).rejects.toMatchObject({ code: '28P01' });
  });

  describe('SASLprep agrees with PostgreSQL', () => {
    it.each(PREP_CASES)('$role ($why): same keys as pg_authid, and the login works', async ({ role, password, equivalent }) => {
      const stored = (await pg.query(`select rolpassword from pg_authid where rolname = $1`, [role])).rows[0].rolpassword as string;
      const verifier = parseScramVerifier(stored);
      expect(verifier).not.toBeNull();
      const ours = scramSecretFromPassword(password, { salt: verifier!.salt, iterations: verifier!.iterations });
      expect(ours.storedKey.toString('base64')).toBe(verifier!.storedKey.toString('base64'));
      expect(ours.serverKey.toString('base64')).toBe(verifier!.serverKey.toString('base64'));
      expect(await login(pg, role, password)).toEqual(['scram']);
      if (equivalent !== undefined) expect(await login(pg, role, equivalent)).toEqual(['scram']);
    });

    it('a verifier PostgreSQL stored checks our client exchange (proxy as server with a pg_authid verifier)', async () => {
      const stored = (await pg.query(`select rolpassword from pg_authid where rolname = 'scram_user'`)).rows[0].rolpassword as string;
      for (const [password, ok] of [
        ['s3cret', true],
        ['wrong', false],
      ] as const) {
        const server = new ScramServer(scramSecretFromPassword(stored));
        const client = new ScramClient(password);
        const r = server.handleClientFinal(client.handleServerFirst(server.handleClientFirst(client.clientFirst())));
        expect(r.ok).toBe(ok);
      }
    });
  });
});
