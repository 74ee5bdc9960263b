// The line between the two halves: proxy/ never imports operator/, operator/ never imports proxy/,
// and contract/ (what both share) imports neither. Tests may reach for the other side's test support
// only where listed here, so a shortcut across the line has to be argued for in this file.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const HALVES = ['contract', 'proxy', 'operator'] as const;
type Half = (typeof HALVES)[number];

/** What each half may import, by top-level folder. */
const MAY_IMPORT: Record<Half, readonly Half[]> = {
  contract: ['contract'],
  proxy: ['proxy', 'contract'],
  operator: ['operator', 'contract'],
};

/** Every relative module specifier of a source text (static and dynamic imports, re-exports). */
function relativeImports(text: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]+)\1/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[2]!);
  return out;
}

/** The top-level folder a path (relative to the repository root) lies in. */
function topFolder(rel: string): string {
  return rel.split(path.sep)[0]!;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.parentPath.split(path.sep).includes('node_modules'))
    .map((e) => path.join(e.parentPath, e.name));
}

/** `file imports target`, for every import that leaves what the file's half may import. */
function crossings(files: { rel: string; text: string }[]): string[] {
  const out: string[] = [];
  for (const { rel, text } of files) {
    const half = topFolder(rel) as Half;
    for (const spec of relativeImports(text)) {
      const target = path.relative(ROOT, path.resolve(ROOT, path.dirname(rel), spec));
      if (!MAY_IMPORT[half].includes(topFolder(target) as Half)) out.push(`${rel} imports ${target}`);
    }
  }
  return out;
}

describe('the import boundary between proxy, operator and contract', () => {
  it('finds every kind of import', () => {
    const text = `import a from '../x.js';\nimport type { B } from "../../y.js";\nexport { c } from './z.js';\nconst d = await import('../w.js');\nimport './side.js';\nimport e from 'zod';`;
    expect(relativeImports(text)).toEqual(['../x.js', '../../y.js', './z.js', '../w.js', './side.js']);
  });

  it('reports an import across the line, and allows contract from either half', () => {
    const rel = (p: string) => p.split('/').join(path.sep);
    const files = [
      { rel: rel('proxy/src/a.ts'), text: `import { x } from '../../operator/src/runtime/apply.js';` },
      { rel: rel('operator/src/b.ts'), text: `import { y } from '../../contract/config/schema.js';` },
      { rel: rel('contract/c.ts'), text: `import { z } from '../proxy/src/server.js';` },
    ];
    expect(crossings(files)).toEqual([
      `${rel('proxy/src/a.ts')} imports ${rel('operator/src/runtime/apply.js')}`,
      `${rel('contract/c.ts')} imports ${rel('proxy/src/server.js')}`,
    ]);
  });

  it('holds for every source file in the repository', () => {
    // This file itself is left out: its examples above are imports across the line, on purpose.
    const self = fileURLToPath(import.meta.url);
    const files = HALVES.flatMap((h) => sourceFiles(path.join(ROOT, h)))
      .filter((f) => f !== self)
      .map((f) => ({ rel: path.relative(ROOT, f), text: readFileSync(f, 'utf8') }));
    expect(files.length).toBeGreaterThan(100);
    expect(crossings(files)).toEqual([]);
  });
});
