import { describe, expect, it } from 'vitest';
import { isMd5Hash, md5PasswordHash, md5Response, verifyMd5Response } from './md5.js';

// Reference values computed independently (Python hashlib) with PostgreSQL's formula.
describe('md5', () => {
  it('hashes like pg_authid: md5(password || user)', () => {
    expect(md5PasswordHash('postgres', 'secret')).toBe('md553f48b7c4b76a86ce72276c5755f217d');
  });
  it('answers a salt like libpq: md5(md5(password || user) || salt)', () => {
    expect(md5Response('app', 'pw', Buffer.from([1, 2, 3, 4]))).toBe('md523933eb55ec09a63a564cd7714651904');
  });
  it('gives the same response from the password or its stored hash', () => {
    const salt = Buffer.from([1, 2, 3, 4]);
    expect(md5Response('app', md5PasswordHash('app', 'pw'), salt)).toBe(md5Response('app', 'pw', salt));
    expect(md5Response('app', 'pw', salt)).not.toBe(md5Response('app', 'pw', Buffer.from([4, 3, 2, 1])));
  });
  it('recognizes hashes the way PostgreSQL does (lowercase hex only)', () => {
    expect(isMd5Hash('md553f48b7c4b76a86ce72276c5755f217d')).toBe(true);
    expect(isMd5Hash('md553F48B7C4B76A86CE72276C5755F217D')).toBe(false);
    expect(isMd5Hash('md553f48b7c4b76a86ce72276c5755f217')).toBe(false);
    expect(isMd5Hash('secret')).toBe(false);
  });
  it('verifies a response against the password or the hash, and refuses others', () => {
    const salt = Buffer.from([9, 8, 7, 6]);
    const good = md5Response('app', 'pw', salt);
    expect(verifyMd5Response('app', 'pw', salt, good)).toBe(true);
    expect(verifyMd5Response('app', md5PasswordHash('app', 'pw'), salt, good)).toBe(true);
    expect(verifyMd5Response('app', 'other', salt, good)).toBe(false);
    expect(verifyMd5Response('bob', 'pw', salt, good)).toBe(false); // the user name is part of the hash
    expect(verifyMd5Response('app', 'pw', Buffer.from([0, 0, 0, 0]), good)).toBe(false);
    expect(verifyMd5Response('app', 'pw', salt, good.slice(0, -1))).toBe(false);
    expect(verifyMd5Response('app', 'pw', salt, '')).toBe(false);
  });
});
