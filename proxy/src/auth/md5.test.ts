import { describe, expect, it } from 'vitest';
import { md5PasswordHash, md5Response } from './md5.js';

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
});
