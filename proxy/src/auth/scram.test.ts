import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../protocol/errors.js';
import { AuthProtocolError, formatScramVerifier, parseScramVerifier, ScramClient, ScramServer, scramSecretFromPassword } from './scram.js';

// RFC 7677 section 3: user "user", password "pencil".
const RFC = {
  clientNonce: 'rOprNGfwEbeRWgbNEkqO',
  serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  salt: Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'),
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

const rfcServer = () => new ScramServer(scramSecretFromPassword('pencil', { salt: RFC.salt, iterations: 4096 }), RFC.serverNonce);

/** One full exchange; returns the server's verdict and whether the client accepted the server. */
function exchange(serverPassword: string, clientPassword: string): { ok: boolean; clientAccepted: boolean } {
  const s = new ScramServer(scramSecretFromPassword(serverPassword, { iterations: 64 }));
  const c = new ScramClient(clientPassword);
  const r = s.handleClientFinal(c.handleServerFirst(s.handleClientFirst(c.clientFirst())));
  if (!r.ok) return { ok: false, clientAccepted: false };
  c.verifyServerFinal(r.serverFinal);
  return { ok: true, clientAccepted: true };
}

describe('SCRAM-SHA-256 against RFC 7677', () => {
  it('client reproduces the test vector', () => {
    const c = new ScramClient('pencil', RFC.clientNonce, 'user');
    expect(c.clientFirst()).toBe(RFC.clientFirst);
    expect(c.handleServerFirst(RFC.serverFirst)).toBe(RFC.clientFinal);
    expect(() => c.verifyServerFinal(RFC.serverFinal)).not.toThrow();
  });

  it('server reproduces the test vector', () => {
    const s = rfcServer();
    expect(s.handleClientFirst(RFC.clientFirst)).toBe(RFC.serverFirst);
    expect(s.handleClientFinal(RFC.clientFinal)).toEqual({ ok: true, serverFinal: RFC.serverFinal });
  });

  it('server refuses the vector with one proof bit flipped', () => {
    const s = rfcServer();
    s.handleClientFirst(RFC.clientFirst);
    const proof = Buffer.from(RFC.clientFinal.split(',p=')[1]!, 'base64');
    proof[0]! ^= 1;
    const r = s.handleClientFinal(RFC.clientFinal.replace(/p=.*$/, `p=${proof.toString('base64')}`));
    expect(r).toEqual({ ok: false, reason: 'wrong password' });
  });

  it('client refuses a server that cannot prove the password, or reports an e= error', () => {
    const c = new ScramClient('pencil', RFC.clientNonce, 'user');
    c.clientFirst();
    c.handleServerFirst(RFC.serverFirst);
    expect(() => c.verifyServerFinal('v=' + Buffer.alloc(32).toString('base64'))).toThrow(/did not prove/);
    expect(() => c.verifyServerFinal('e=invalid-proof')).toThrow(/invalid-proof/);
    expect(() => c.verifyServerFinal('x')).toThrow(AuthProtocolError);
  });
});

describe('SCRAM-SHA-256 client against server', () => {
  it.each([
    ['s3cret', 's3cret', true],
    ['s3cret', 'wrong', false],
    ['s3cret', 'S3cret', false],
    ['', '', true],
    ['pässwörd', 'pässwörd', true],
    // SASLprep: a no-break space is a space, a soft hyphen is nothing, the ligature is "fi".
    ['a b\u00adﬁ', 'a\u00a0b\ufb01', true],
  ])('server %j, client %j → %s', (server, client, ok) => {
    expect(exchange(server, client)).toEqual({ ok, clientAccepted: ok });
  });

  it('sends no user name by default, as libpq does, and escapes one when given', () => {
    expect(new ScramClient('x', 'abc').clientFirst()).toBe('n,,n=,r=abc');
    expect(new ScramClient('x', 'abc', 'a=b,c').clientFirst()).toBe('n,,n=a=3Db=2Cc,r=abc');
  });

  it('a malformed client-first is a protocol violation of that client: 08P01, not a proxy failure', () => {
    const s = rfcServer();
    let thrown: unknown;
    try {
      s.handleClientFirst('n,,n=user,r=abc,2=IfcGNZDt08h6dYK9\uFFFDS');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(AuthProtocolError);
    expect(thrown).toBeInstanceOf(ProtocolError);
    expect((thrown as ProtocolError).sqlstate).toBe('08P01');
  });

  it('refuses a replayed client-final and a second client-first', () => {
    const s = rfcServer();
    s.handleClientFirst(RFC.clientFirst);
    expect(() => s.handleClientFirst(RFC.clientFirst)).toThrow(AuthProtocolError);
    expect(s.handleClientFinal(RFC.clientFinal).ok).toBe(true);
    expect(s.handleClientFinal(RFC.clientFinal).ok).toBe(false);
  });

  it('refuses a client-final with the wrong channel-binding header or nonce', () => {
    for (const bad of [RFC.clientFinal.replace('c=biws', 'c=eSws'), RFC.clientFinal.replace('k0,p=', 'k1,p=')]) {
      const s = rfcServer();
      s.handleClientFirst(RFC.clientFirst);
      expect(s.handleClientFinal(bad).ok).toBe(false);
    }
  });

  it('refuses channel binding, authzid and mandatory extensions with the typed error', () => {
    for (const msg of ['p=tls-server-end-point,,n=,r=abc', 'n,a=admin,n=,r=abc', 'n,,m=ext,n=,r=abc', 'n,,r=abc', 'n,,n=,r=a,b']) {
      expect(() => rfcServer().handleClientFirst(msg)).toThrow(AuthProtocolError);
    }
    expect(rfcServer().handleClientFirst('y,,n=,r=abc')).toMatch(/^r=abc%hvY/);
  });

  it('client refuses a server nonce that does not extend its own, and bad salts or counts', () => {
    const first = () => {
      const c = new ScramClient('pencil', RFC.clientNonce);
      c.clientFirst();
      return c;
    };
    for (const msg of [
      'r=other,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
      `r=${RFC.clientNonce},s=W22Z,i=4096`,
      `r=${RFC.clientNonce}x,s=!!,i=4096`,
      `r=${RFC.clientNonce}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0`,
      `r=${RFC.clientNonce}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-1`,
      'garbage',
    ]) {
      expect(() => first().handleServerFirst(msg)).toThrow(AuthProtocolError);
    }
    expect(() => new ScramClient('x').handleServerFirst(RFC.serverFirst)).toThrow(/before client-first/);
  });
});

describe('stored verifiers', () => {
  const verifier = `SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$${Buffer.alloc(32, 1).toString('base64')}:${Buffer.alloc(32, 2).toString('base64')}`;

  it('parses pg_authid text and formats it back', () => {
    const s = parseScramVerifier(verifier)!;
    expect(s.iterations).toBe(4096);
    expect(s.salt).toEqual(RFC.salt);
    expect(formatScramVerifier(s)).toBe(verifier);
  });

  it.each([
    'md5abc',
    'SCRAM-SHA-256$4096:salt',
    verifier.replace('$4096', '$0'),
    verifier.replace('$4096', '$x'),
    verifier.slice(0, -4) + '====', // a key that is not 32 bytes / not base64
    verifier + 'extra',
  ])('rejects %j', (v) => expect(parseScramVerifier(v)).toBeNull());

  it('a password that is a verifier is taken as the verifier, never as a password', () => {
    const secret = scramSecretFromPassword('pencil', { iterations: 64 });
    const text = formatScramVerifier(secret);
    expect(scramSecretFromPassword(text)).toEqual(secret);
    const s = new ScramServer(scramSecretFromPassword(text));
    const right = new ScramClient('pencil');
    expect(s.handleClientFinal(right.handleServerFirst(s.handleClientFirst(right.clientFirst()))).ok).toBe(true);
    const s2 = new ScramServer(scramSecretFromPassword(text));
    const replay = new ScramClient(text);
    expect(s2.handleClientFinal(replay.handleServerFirst(s2.handleClientFirst(replay.clientFirst()))).ok).toBe(false);
  });
});

describe('malformed input never escapes as anything but the typed error (property)', () => {
  const fragments = fc.constantFrom('n', 'y', 'p', ',', '=', 'a=', 'n=', 'r=', 'c=', 'p=', 'biws', 's=', 'i=', 'm=', 'x', '==', '\u0000', 'é', RFC.clientNonce);
  const scramish = fc.oneof(
    fc.string(),
    fc.array(fragments, { maxLength: 12 }).map((a) => a.join('')),
  );

  it('server: client-first throws only AuthProtocolError, client-final only returns {ok:false}', () => {
    fc.assert(
      fc.property(scramish, scramish, fc.boolean(), (first, final, realFirst) => {
        const s = new ScramServer(scramSecretFromPassword('x', { iterations: 1 }));
        try {
          s.handleClientFirst(realFirst ? 'n,,n=,r=abc' : first);
        } catch (err) {
          expect(err).toBeInstanceOf(AuthProtocolError);
        }
        expect(s.handleClientFinal(final).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('client: server-first and server-final throw only AuthProtocolError', () => {
    fc.assert(
      fc.property(scramish, scramish, (first, final) => {
        const c = new ScramClient('x', RFC.clientNonce);
        c.clientFirst();
        for (const step of [() => c.handleServerFirst(first), () => c.verifyServerFinal(final)]) {
          try {
            step();
          } catch (err) {
            expect(err).toBeInstanceOf(AuthProtocolError);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
