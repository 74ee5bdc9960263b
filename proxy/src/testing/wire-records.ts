/**
 * Backend messages as small comparable records, for the raw protocol client (wire.ts). ParameterStatus
 * decodes to nothing (tests ignore it); BackendKeyData is taken aside by the connection.
 */

/** One backend message as a comparable record. */
export interface Rec {
  type: string;
  tag?: string;
  severity?: string;
  code?: string;
  message?: string;
  detail?: string;
  status?: string;
  values?: (string | null)[];
  fields?: string[];
  types?: number[];
  formats?: number[];
  params?: number[];
  format?: number;
  data?: string;
  value?: string | null;
  auth?: number;
  channel?: string;
  payload?: string;
  hex?: string;
  /** For `timeout`: what the read was waiting for. */
  waitingFor?: string;
}

/** Text if the bytes are printable UTF-8, else `\x` + hex (binary formats). */
function text(b: Buffer): string {
  const s = b.toString('utf8');
  // eslint-disable-next-line no-control-regex
  return Buffer.from(s, 'utf8').equals(b) && !/[\u0000-\u0008\u000e-\u001f]/.test(s) ? s : '\\x' + b.toString('hex');
}

function cstrings(b: Buffer, at: number): [string, number] {
  const nul = b.indexOf(0, at);
  const end = nul < 0 ? b.length : nul;
  return [b.toString('utf8', at, end), end + 1];
}

function errorFields(body: Buffer): Record<string, string> {
  const f: Record<string, string> = {};
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const k = String.fromCharCode(body[at]!);
    const [v, next] = cstrings(body, at + 1);
    f[k] = v;
    at = next;
  }
  return f;
}

/** Decodes one backend message; undefined for the ones tests ignore (ParameterStatus). */
export function decodeBackend(type: number, body: Buffer): Rec | undefined {
  const t = String.fromCharCode(type);
  switch (t) {
    case 'S':
      return undefined;
    case 'R':
      return { type: t, auth: body.readInt32BE(0) };
    case 'C':
      return { type: t, tag: cstrings(body, 0)[0] };
    case 'E': {
      const f = errorFields(body);
      const r: Rec = { type: t, severity: f['V'] ?? f['S'] ?? '', code: f['C'] ?? '', message: f['M'] ?? '' };
      if (f['D'] !== undefined) r.detail = f['D'];
      return r;
    }
    case 'N':
      return { type: t, code: errorFields(body)['C'] ?? '' };
    case 'Z':
      return { type: t, status: String.fromCharCode(body[0]!) };
    case 'D': {
      const n = body.readInt16BE(0);
      const values: (string | null)[] = [];
      let at = 2;
      for (let i = 0; i < n; i++) {
        const len = body.readInt32BE(at);
        at += 4;
        if (len < 0) values.push(null);
        else {
          values.push(text(body.subarray(at, at + len)));
          at += len;
        }
      }
      return { type: t, values };
    }
    case 'T': {
      const n = body.readInt16BE(0);
      const fields: string[] = [];
      const types: number[] = [];
      const formats: number[] = [];
      let at = 2;
      for (let i = 0; i < n; i++) {
        const [name, next] = cstrings(body, at);
        fields.push(name);
        types.push(body.readInt32BE(next + 6));
        formats.push(body.readInt16BE(next + 16));
        at = next + 18;
      }
      return { type: t, fields, types, formats };
    }
    case 't': {
      const n = body.readInt16BE(0);
      return { type: t, params: Array.from({ length: n }, (_, i) => body.readInt32BE(2 + 4 * i)) };
    }
    case 'G':
    case 'H':
    case 'W': {
      const n = body.readInt16BE(1);
      return { type: t, format: body[0]!, formats: Array.from({ length: n }, (_, i) => body.readInt16BE(3 + 2 * i)) };
    }
    case 'd':
      return { type: t, data: text(body) };
    case 'V': {
      const len = body.readInt32BE(0);
      return { type: t, value: len < 0 ? null : text(body.subarray(4, 4 + len)) };
    }
    case 'A': {
      const [channel, next] = cstrings(body, 4);
      return { type: t, channel, payload: cstrings(body, next)[0] };
    }
    case '1':
    case '2':
    case '3':
    case 'n':
    case 's':
    case 'I':
    case 'c':
      return body.length === 0 ? { type: t } : { type: t, hex: body.toString('hex') };
    default:
      return { type: t, hex: body.toString('hex') };
  }
}

/** One line per record, for transcripts and diffs. */
export function show(r: Rec): string {
  const { type, ...rest } = r;
  const keys = Object.keys(rest);
  return keys.length === 0 ? type : `${type} ${JSON.stringify(rest)}`;
}
