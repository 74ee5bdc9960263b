import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AuthProtocolError, parseScramVerifier, ScramClient, ScramServer, scramSecretFromPassword } from './scram.js';

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

describe('SCRAM-SHA-256', () => {
  it('client reproduces the RFC 7677 test vector', () => {
    const c = new ScramClient('pencil', RFC.clientNonce, 'user');
    expect(c.clientFirst()).toBe(RFC.clientFirst);
    expect(c.handleServerFirst(RFC.serverFirst)).toBe(RFC.clientFinal);
    expect(() => c.verifyServerFinal(RFC.serverFinal)).not.toThrow();
  });

  it('server reproduces the RFC 7677 test vector', () => {
    const s = new ScramServer(scramSecretFromPassword('pencil', { salt: RFC.salt, iterations: 4096 }), RFC.serverNonce);
    expect(s.handleClientFirst(RFC.clientFirst)).toBe(RFC.serverFirst);
    expect(s.handleClientFinal(RFC.clientFinal)).toEqual({ ok: true, serverFinal: RFC.serverFinal });
  });

  it('client and server agree on the right password and disagree on a wrong one', () => {
    for (const [password, ok] of [['s3cret', true], ['wrong', false]] as const) {
      const s = new ScramServer(scramSecretFromPassword('s3cret'));
      const c = new ScramClient(password);
      const final = c.handleServerFirst(s.handleClientFirst(c.clientFirst()));
      const r = s.handleClientFinal(final);
      expect(r.ok).toBe(ok);
      if (r.ok) expect(() => c.verifyServerFinal(r.serverFinal)).not.toThrow();
    }
  });

  it('client refuses a server that cannot prove the password', () => {
    const c = new ScramClient('pencil', RFC.clientNonce, 'user');
    c.handleServerFirst(RFC.serverFirst);
    expect(() => c.verifyServerFinal('v=' + Buffer.alloc(32).toString('base64'))).toThrow(AuthProtocolError);
  });

  it('parses a pg_authid verifier and rejects junk', () => {
    const v = 'SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$' + Buffer.alloc(32, 1).toString('base64') + ':' + Buffer.alloc(32, 2).toString('base64');
    expect(parseScramVerifier(v)?.iterations).toBe(4096);
    expect(parseScramVerifier('md5abc')).toBeNull();
  });

  it('malformed client messages give the typed error or {ok:false}, never anything else (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (first, final) => {
        const s = new ScramServer(scramSecretFromPassword('x', { iterations: 1 }));
        try {
          s.handleClientFirst(first);
        } catch (err) {
          expect(err).toBeInstanceOf(AuthProtocolError);
        }
        expect(s.handleClientFinal(final).ok).toBe(false);
      }),
    );
  });
});
