/**
 * SASLprep-lite (RFC 4013 over RFC 3454), shaped like PostgreSQL's pg_saslprep so the proxy derives
 * the same SCRAM keys as the server and libpq for any password:
 *  - pure ASCII passes unchanged (PostgreSQL's fast path; even control characters);
 *  - otherwise non-ASCII spaces become U+0020, "commonly mapped to nothing" characters are dropped,
 *    and the result is NFKC-normalized;
 *  - if the mapped string is empty, or contains a prohibited or unassigned code point, or breaks the
 *    bidi rule, the password is used exactly as given (PostgreSQL does the same instead of failing).
 * Like PostgreSQL, the prohibition and bidi checks look at the mapped, not yet normalized, string.
 * "Lite": unassigned code points are judged by the JavaScript engine's Unicode version instead of
 * Unicode 3.2 (table A.1), and the bidi "L" class (table D.2) is approximated by letters and spacing
 * marks outside table D.1. Both only matter for passwords mixing scripts added after 2002 or
 * right-to-left text with normalization-sensitive characters.
 */

type Ranges = readonly (readonly [number, number])[];

/** RFC 3454 C.1.2, non-ASCII space characters: mapped to U+0020. */
const NON_ASCII_SPACE: Ranges = [
  [0x00a0, 0x00a0],
  [0x1680, 0x1680],
  [0x2000, 0x200b],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
];

/** RFC 3454 B.1, commonly mapped to nothing. */
const MAPPED_TO_NOTHING: Ranges = [
  [0x00ad, 0x00ad],
  [0x034f, 0x034f],
  [0x1806, 0x1806],
  [0x180b, 0x180d],
  [0x200b, 0x200d],
  [0x2060, 0x2060],
  [0xfe00, 0xfe0f],
  [0xfeff, 0xfeff],
];

/** RFC 3454 C.1.2 and C.2.1 to C.9, the output SASLprep prohibits. */
const PROHIBITED: Ranges = [
  ...NON_ASCII_SPACE,
  [0x0000, 0x001f],
  [0x007f, 0x009f], // C.2.1, C.2.2 (controls)
  [0x06dd, 0x06dd],
  [0x070f, 0x070f],
  [0x180e, 0x180e],
  [0x200c, 0x200f],
  [0x2028, 0x202e],
  [0x2060, 0x2063],
  [0x206a, 0x206f],
  [0xfeff, 0xfeff],
  [0xfff9, 0xfffd],
  [0x1d173, 0x1d17a], // C.2.2, C.6, C.8
  [0x0340, 0x0341],
  [0x2ff0, 0x2ffb], // C.8, C.7
  [0xe000, 0xf8ff],
  [0xf0000, 0xffffd],
  [0x100000, 0x10fffd], // C.3 private use
  [0xfdd0, 0xfdef],
  [0xd800, 0xdfff], // C.4 (plus the nFFFE/nFFFF checked below), C.5 surrogates
  [0xe0001, 0xe0001],
  [0xe0020, 0xe007f], // C.9 tagging
];

/** RFC 3454 D.1, characters with bidi property R or AL. */
const RAND_AL_CAT: Ranges = [
  [0x05be, 0x05be],
  [0x05c0, 0x05c0],
  [0x05c3, 0x05c3],
  [0x05d0, 0x05ea],
  [0x05f0, 0x05f4],
  [0x061b, 0x061b],
  [0x061f, 0x061f],
  [0x0621, 0x063a],
  [0x0640, 0x064a],
  [0x066d, 0x066f],
  [0x0671, 0x06d5],
  [0x06dd, 0x06dd],
  [0x06e5, 0x06e6],
  [0x06fa, 0x06fe],
  [0x0700, 0x070d],
  [0x0710, 0x0710],
  [0x0712, 0x072c],
  [0x0780, 0x07a5],
  [0x07b1, 0x07b1],
  [0x200f, 0x200f],
  [0xfb1d, 0xfb1d],
  [0xfb1f, 0xfb28],
  [0xfb2a, 0xfb36],
  [0xfb38, 0xfb3c],
  [0xfb3e, 0xfb3e],
  [0xfb40, 0xfb41],
  [0xfb43, 0xfb44],
  [0xfb46, 0xfbb1],
  [0xfbd3, 0xfd3d],
  [0xfd50, 0xfd8f],
  [0xfd92, 0xfdc7],
  [0xfdf0, 0xfdfc],
  [0xfe70, 0xfe74],
  [0xfe76, 0xfefc],
];

const inRanges = (cp: number, ranges: Ranges): boolean => ranges.some(([lo, hi]) => cp >= lo && cp <= hi);
const UNASSIGNED = /^\p{Cn}$/u;
const LETTER_OR_SPACING_MARK = /^[\p{L}\p{Mc}]$/u;

function isProhibited(cp: number): boolean {
  return inRanges(cp, PROHIBITED) || (cp & 0xfffe) === 0xfffe || UNASSIGNED.test(String.fromCodePoint(cp));
}

const isRandAL = (cp: number): boolean => inRanges(cp, RAND_AL_CAT);
const isL = (cp: number): boolean => !isRandAL(cp) && LETTER_OR_SPACING_MARK.test(String.fromCodePoint(cp));

/** RFC 3454 section 6: with any R/AL character, no L character, and R/AL at both ends. */
function breaksBidiRule(cps: number[]): boolean {
  if (!cps.some(isRandAL)) return false;
  return cps.some(isL) || !isRandAL(cps[0]!) || !isRandAL(cps[cps.length - 1]!);
}

/** The string PostgreSQL would feed to PBKDF2 for this password. */
export function saslprep(password: string): string {
  if (/^[\x00-\x7f]*$/.test(password)) return password;
  const mapped: number[] = [];
  for (const ch of password) {
    const cp = ch.codePointAt(0)!;
    if (inRanges(cp, NON_ASCII_SPACE)) mapped.push(0x20);
    else if (!inRanges(cp, MAPPED_TO_NOTHING)) mapped.push(cp);
  }
  if (mapped.length === 0 || mapped.some(isProhibited) || breaksBidiRule(mapped)) return password;
  return String.fromCodePoint(...mapped).normalize('NFKC');
}
