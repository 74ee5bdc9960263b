/** Docs match the code: docs/admin-console.md describes every column of every SHOW, and every command. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHOW_TARGETS } from './commands.js';
import { configTable } from './config-table.js';
import { clientsTable, poolsTable, serversTable, statsTable } from './tables.js';
import { parseConfig } from '../../../../contract/config/load.js';

const doc = readFileSync(path.resolve(import.meta.dirname, '../../../../docs/admin-console.md'), 'utf8');

/** The doc's section for `SHOW X`: from its heading to the next one. */
function section(title: string): string {
  const start = doc.indexOf(`\n### ${title}\n`);
  expect(start, `a "### ${title}" section`).toBeGreaterThan(0);
  const end = doc.indexOf('\n#', start + 5);
  return doc.slice(start, end < 0 ? undefined : end);
}

const tables = {
  'SHOW POOLS': poolsTable([]),
  'SHOW CLIENTS': clientsTable([]),
  'SHOW SERVERS': serversTable([]),
  'SHOW STATS': statsTable([]),
  'SHOW CONFIG': configTable(parseConfig({ targets: ['db:5432'], auth: { method: 'trust' } }, 'test')),
};

describe('docs/admin-console.md', () => {
  it.each(Object.entries(tables))('%s: every column is described in its section', (title, table) => {
    const text = section(title);
    for (const c of table.columns) expect(text, `column ${c.name}`).toContain(`\`${c.name}\``);
  });

  it.each([...SHOW_TARGETS.map((t) => `SHOW ${t.toUpperCase()}`), 'RELOAD', 'PAUSE [db]', 'RESUME [db]'])('lists %s in the command table', (cmd) => {
    expect(doc).toContain(`| \`${cmd}\` |`);
  });
});
