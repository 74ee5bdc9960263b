import { describe, expect, it } from 'vitest';
import { saslprep } from './saslprep.js';

describe('saslprep', () => {
  it.each([
    // RFC 4013 section 3 examples that succeed.
    ['I\u00adX', 'IX'],
    ['user', 'user'],
    ['USER', 'USER'],
    ['\u00aa', 'a'],
    ['\u2168', 'IX'],
    // Non-ASCII spaces map to a space, then NFKC.
    ['pass\u00a0word', 'pass word'],
    ['\u3000x\u2003', ' x '],
    ['\ufb01x', 'fix'],
    ['e\u0301', '\u00e9'],
    // Pure ASCII is returned as is, control characters included (PostgreSQL's fast path).
    ['a\u0007b', 'a\u0007b'],
    ['', ''],
    // Prohibited or bidi-breaking: the password is used exactly as given (PostgreSQL falls back).
    ['\u00e9\u0007', '\u00e9\u0007'], // RFC 4013 example 5: prohibited character
    ['\u0627\u0031', '\u0627\u0031'], // RFC 4013 example 6: R/AL at the start but not the end
    ['\u00ad', '\u00ad'], // maps to nothing: PostgreSQL refuses an empty result and keeps the input
    ['\ue000\u00aa', '\ue000\u00aa'], // private use
    ['\u05d0a\u05d0', '\u05d0a\u05d0'], // R/AL mixed with an L letter
    ['\u0627\u00aa\u0628', '\u0627\u00aa\u0628'], // ª is a letter (L) before NFKC: PostgreSQL checks the mapped input
  ])('%j → %j', (input, output) => {
    expect(saslprep(input)).toBe(output);
  });

  it('keeps a well-formed right-to-left password and normalizes it', () => {
    expect(saslprep('\u05d0\u05d1')).toBe('\u05d0\u05d1');
    expect(saslprep('\ufb2e\u05d0')).toBe('\ufb2e\u05d0'.normalize('NFKC'));
  });
});
