import { describe, expect, it } from 'vitest';
import { cleartextMatches } from './cleartext.js';
import { md5PasswordHash } from './md5.js';
import { formatScramVerifier, scramSecretFromPassword } from './scram.js';
import { StoredUser } from './users.js';

const VERIFIER = formatScramVerifier(scramSecretFromPassword('pw', { iterations: 32 }));
const MD5 = md5PasswordHash('app', 'pw');

describe('cleartextMatches', () => {
  it.each([
    ['plaintext, right', 'pw', 'pw', true],
    ['plaintext, wrong', 'pw', 'pW', false],
    ['plaintext, prefix', 'pw', 'p', false],
    ['md5, right', MD5, 'pw', true],
    ['md5, wrong', MD5, 'nope', false],
    ['md5, the hash itself', MD5, MD5, false],
    ['scram, right', VERIFIER, 'pw', true],
    ['scram, wrong', VERIFIER, 'nope', false],
    ['scram, the verifier itself', VERIFIER, VERIFIER, false],
  ])('%s', (_name, stored, given, want) => {
    expect(cleartextMatches(new StoredUser('app', stored), given)).toBe(want);
  });
});
