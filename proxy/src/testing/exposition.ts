/**
 * Test support: the Prometheus text exposition format read into samples, so tests ask for a value
 * by name and labels instead of matching lines (labels come in any order, series per pool).
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  /** Metric family → its `# TYPE` (counter, gauge, histogram, summary, untyped). */
  types: Map<string, string>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const t = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (t) types.set(t[1]!, t[2]!);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, types };
}

/** The samples of `name` whose labels include `labels`. */
export function series(e: Exposition, name: string, labels: Record<string, string> = {}): Sample[] {
  return e.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The sum of the matching samples' values (0 when none match). */
export function total(e: Exposition, name: string, labels: Record<string, string> = {}): number {
  return series(e, name, labels).reduce((sum, s) => sum + s.value, 0);
}

const FAMILY_SUFFIXES: Record<string, string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['_sum', '_count'] };

/**
 * Whether a PromQL query naming `name` finds it here: a sample of that name, a declared family
 * (a labeled counter may have no series yet), or a histogram's or summary's _bucket/_sum/_count.
 */
export function exposes(e: Exposition, name: string): boolean {
  if (e.types.has(name) || e.samples.some((s) => s.name === name)) return true;
  for (const [family, type] of e.types) {
    if ((FAMILY_SUFFIXES[type] ?? []).some((suffix) => name === family + suffix)) return true;
  }
  return false;
}
