import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { endMarker, flagsTable, startMarker } from '../../../scripts/flags-table.ts';

const exec = promisify(execFile);
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Table rows as trimmed cells, whatever padding a formatter added. */
function rows(table: string): string[][] {
  return table
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|\s*-+/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    );
}

async function readmeTable(): Promise<string> {
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
  const start = readme.indexOf(startMarker);
  const end = readme.indexOf(endMarker);
  assert.ok(start >= 0 && end > start, 'README.md has the generated flag table');
  return readme.slice(start + startMarker.length, end);
}

test('the README flag table is the one generated from the CLI definitions (npm run docs:flags)', async () => {
  assert.deepEqual(rows(await readmeTable()), rows(flagsTable()));
});

test('every flag in the README is in --help, and every flag in --help is in the README', async () => {
  const { stdout } = await exec(process.execPath, [join(repoRoot, 'src', 'main.ts'), '--help']);
  const helpFlags = new Set(
    [...stdout.matchAll(/^\s+(--[a-z][a-z.-]*)/gm)]
      .map((m) => m[1])
      .filter((f) => f !== '--help' && f !== '--version'),
  );
  const readmeFlags = new Set(
    rows(await readmeTable())
      .slice(1)
      .map((cells) => /`(--[a-z][a-z.-]*)/.exec(cells[0] ?? '')?.[1]),
  );
  assert.deepEqual([...readmeFlags].sort(), [...helpFlags].sort());
});

test('every file, folder and glob the README and SECURITY.md name exists (they name them as evidence)', async () => {
  const missing: string[] = [];
  for (const document of ['README.md', 'SECURITY.md']) {
    const text = await readFile(join(repoRoot, document), 'utf8');
    for (const [named] of text.matchAll(/\b(?:src|test|scripts|charts|config)\/[A-Za-z0-9_./*-]+/g)) {
      // A glob stands for its folder; a sentence's full stop is not part of the path.
      const path = named.replace(/\*.*$/, '').replace(/\.$/, '');
      const found = await stat(join(repoRoot, path)).then(
        () => true,
        () => false,
      );
      if (!found) missing.push(`${document}: ${named}`);
    }
  }
  assert.deepEqual(missing, []);
});
