/**
 * Turns zod issues into the one-line, path-first messages config errors list
 * (`pool.maxConnections: must be >= 1`), instead of zod's generic wording.
 */
import type { z } from 'zod';

type Issue = z.core.$ZodIssue;
type RawIssue = z.core.$ZodRawIssue;

function describeInput(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `"${v.length > 40 ? v.slice(0, 40) + '…' : v}"`;
  return String(v);
}

const TYPE_NAMES: Record<string, string> = {
  int: 'a whole number',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object (mapping)',
};

function bound(issue: { origin: string; inclusive?: boolean }, op: '>' | '<', n: number | bigint): string {
  if (issue.origin === 'array') return op === '>' ? `needs at least ${n} item${n === 1 ? '' : 's'}` : `takes at most ${n} items`;
  if (issue.origin === 'string') return op === '>' ? (n === 1 ? 'must not be empty' : `must be at least ${n} characters`) : `must be at most ${n} characters`;
  return `must be ${op}${issue.inclusive === false ? '' : '='} ${n}`;
}

/** z.int() reports a non-number as expected "number"; its schema's format says it wants an integer. */
function isIntegerSchema(issue: RawIssue): boolean {
  const format = (issue.inst as { _zod?: { def?: { format?: string } } } | undefined)?._zod?.def?.format;
  return issue.expected === 'int' || format === 'safeint' || format === 'int32';
}

/** Fields whose values are secrets: a problem with one names the kind of value, never the value (docs/security.md). */
const SECRET_FIELD = /password|token|secret|key$/i;

function isSecretPath(path: readonly PropertyKey[] | undefined): boolean {
  const last = path?.[path.length - 1];
  return typeof last === 'string' && SECRET_FIELD.test(last);
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** A zod error map (pass as `{ error: configErrorMap }` to parse) with messages for people. */
export function configErrorMap(issue: RawIssue): string | undefined {
  const describeValue = isSecretPath(issue.path) ? kindOf : describeInput;
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'required';
      if (isIntegerSchema(issue) && typeof issue.input === 'number') return 'must be a whole number';
      return `expected ${TYPE_NAMES[isIntegerSchema(issue) ? 'int' : issue.expected] ?? issue.expected}, got ${describeValue(issue.input)}`;
    case 'too_small':
      return bound(issue, '>', issue.minimum);
    case 'too_big':
      return bound(issue, '<', issue.maximum);
    case 'invalid_value':
      return issue.values.length === 1
        ? `must be ${JSON.stringify(issue.values[0])}, got ${describeValue(issue.input)}`
        : `must be one of ${issue.values.map((v) => String(v)).join(', ')}, got ${describeValue(issue.input)}`;
    case 'unrecognized_keys':
      return 'unknown field';
    default:
      return undefined; // zod's own message (custom issues carry ours)
  }
}

const pathText = (path: readonly PropertyKey[]): string => (path.length ? path.map(String).join('.') : '(top level)');

/** One line per problem, path first; an unknown-field issue becomes one line per field. */
export function describeIssues(issues: readonly Issue[]): string[] {
  return issues.flatMap((i) =>
    i.code === 'unrecognized_keys' ? i.keys.map((k) => `${pathText([...i.path, k])}: unknown field`) : [`${pathText(i.path)}: ${i.message}`],
  );
}
