// The README and docs/ are kept true by the code: the flag table is the one the CLI generates, both
// help screens list every flag in its group, every file and link they name exists, every reason
// the operator can set is explained in the troubleshooting page, and every diagram parses.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { endMarker, flagsPage, flagsTable, startMarker } from '../../../scripts/flags-table.ts';
import { reasons } from '../../../src/api/conditions.ts';
import { flagGroups, flags } from '../../../src/flags.ts';

const exec = promisify(execFile);
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Every document a reader is sent to, from the repository's root. */
async function documents(): Promise<string[]> {
  const pages = (await readdir(join(repoRoot, 'docs'))).filter((name) => name.endsWith('.md'));
  return ['README.md', 'SECURITY.md', ...pages.sort().map((name) => `docs/${name}`)];
}

function read(document: string): Promise<string> {
  return readFile(join(repoRoot, document), 'utf8');
}

function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

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

async function pageTable(): Promise<string> {
  const page = await read(flagsPage);
  const start = page.indexOf(startMarker);
  const end = page.indexOf(endMarker);
  assert.ok(start >= 0 && end > start, `${flagsPage} has the generated flag table`);
  return page.slice(start + startMarker.length, end);
}

interface HelpItem {
  readonly group: string;
  readonly flag: string;
  /** The item's whole text, its wrapped lines joined. */
  readonly text: string;
}

/** The items of a commander help screen, each under the heading it is listed in. */
function helpItems(help: string): HelpItem[] {
  const items: { group: string; flag: string; lines: string[] }[] = [];
  let group = '';
  for (const line of help.split('\n')) {
    const heading = /^(\S[^:]*):$/.exec(line);
    const item = /^ {2}(--[a-z][a-z.-]*)/.exec(line);
    if (heading) group = heading[1] ?? '';
    else if (item) items.push({ group, flag: item[1] ?? '', lines: [line.trim()] });
    else if (/^ {3,}\S/.test(line)) items.at(-1)?.lines.push(line.trim());
  }
  return items.map(({ group, flag, lines }) => ({ group, flag, text: lines.join(' ') }));
}

async function help(args: readonly string[]): Promise<HelpItem[]> {
  const { stdout } = await exec(process.execPath, [join(repoRoot, 'src', 'main.ts'), ...args]);
  return helpItems(stdout).filter((item) => item.flag !== '--help' && item.flag !== '--version');
}

describe('the flags, in the docs and in --help', () => {
  test(`the flag table of ${flagsPage} is the one generated from the CLI definitions (npm run docs:flags)`, async () => {
    assert.deepEqual(rows(await pageTable()), rows(flagsTable()));
  });

  test(`${flagsPage} heads each group's table with the group's name, in the order of src/flags.ts`, async () => {
    const headings = [...(await pageTable()).matchAll(/^### (.+)$/gm)].map((m) => m[1]);
    assert.deepEqual(
      headings,
      flagGroups.map((group) => group.title),
    );
  });

  for (const args of [['--help'], ['run', '--help']]) {
    test(`secrets-manager ${args.join(' ')} lists every flag once, under its group, in the table's order`, async () => {
      const listed = (await help(args)).map((item) => `${item.group}: ${item.flag}`);
      const expected = flagGroups.flatMap((group) => group.flags.map((f) => `${group.title}: --${f.flag}`));
      assert.deepEqual(listed, expected);
    });

    test(`secrets-manager ${args.join(' ')} gives each flag's default and environment variable`, async () => {
      const byFlag = new Map((await help(args)).map((item) => [item.flag, item.text]));
      const wrong: string[] = [];
      for (const spec of flags) {
        const text = byFlag.get(`--${spec.flag}`) ?? '';
        if (spec.default !== undefined && !text.includes(`default: "${spec.default}"`))
          wrong.push(`--${spec.flag}: no default "${spec.default}"`);
        if (spec.env !== undefined && !text.includes(`env: ${spec.env}`))
          wrong.push(`--${spec.flag}: no env ${spec.env}`);
        if (spec.envWins === true && !text.includes(`${spec.env ?? ''} wins over the flag`))
          wrong.push(`--${spec.flag}: does not say ${spec.env ?? ''} wins`);
      }
      assert.deepEqual(wrong, []);
    });
  }
});

describe('what the docs name exists', () => {
  test('every file, folder and glob the README, SECURITY.md and docs/ name exists (they name them as evidence)', async () => {
    const missing: string[] = [];
    for (const document of await documents()) {
      const text = await read(document);
      for (const [named] of text.matchAll(
        /\b(?:src|test|scripts|charts|config|bench|soak|docs)\/[A-Za-z0-9_./*-]+/g,
      )) {
        // A glob stands for its folder; a sentence's full stop is not part of the path.
        const path = named.replace(/\*.*$/, '').replace(/\.$/, '');
        if (!(await exists(join(repoRoot, path)))) missing.push(`${document}: ${named}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  test('every relative link of the README, SECURITY.md and docs/ reaches a file, and its #anchor a heading there', async () => {
    const broken: string[] = [];
    for (const document of await documents()) {
      for (const [, target] of (await read(document)).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (target === undefined || /^[a-z]+:/.test(target)) continue;
        const [file = '', anchor] = target.split('#');
        const path = file === '' ? join(repoRoot, document) : join(repoRoot, dirname(document), file);
        if (!(await exists(path))) {
          broken.push(`${document}: ${target} (no ${relative(repoRoot, path)})`);
          continue;
        }
        if (anchor !== undefined && !(await anchorsOf(path)).has(anchor))
          broken.push(`${document}: ${target} (no heading #${anchor})`);
      }
    }
    assert.deepEqual(broken, []);
  });
});

/** GitHub's anchors for the headings of a Markdown file, code blocks left out. */
async function anchorsOf(path: string): Promise<Set<string>> {
  const text = (await readFile(path, 'utf8')).replace(/^```[^]*?^```/gm, '');
  const anchors = new Set<string>();
  for (const [, heading] of text.matchAll(/^#{1,6} (.+)$/gm)) {
    anchors.add(
      (heading ?? '')
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replaceAll(' ', '-'),
    );
  }
  return anchors;
}

describe('the troubleshooting page', () => {
  test('explains every reason the operator can set, under a heading of its name, and no other', async () => {
    const page = await read('docs/troubleshooting.md');
    const headings = [...page.matchAll(/^### (\S+)$/gm)].map((m) => m[1]);
    assert.deepEqual([...headings].sort(), Object.values(reasons).sort());
  });

  test('says under each reason what it means and what to do, in more than a line', async () => {
    const page = await read('docs/troubleshooting.md');
    const thin = Object.values(reasons).filter((reason) => {
      const start = page.indexOf(`### ${reason}\n`);
      const end = page.indexOf('\n#', start + 1);
      return page.slice(start, end).trim().split(/\s+/).length < 20;
    });
    assert.deepEqual(thin, []);
  });
});

describe('the README', () => {
  test('is short: at most 200 lines', async () => {
    assert.ok((await read('README.md')).split('\n').length <= 200);
  });

  test('tells a newcomer to run exactly what CI runs', async () => {
    assert.match(await read('README.md'), /^## Install and test\n\n```sh\nnpm ci\nnpm test\n```$/m);
    assert.match(await read('.ci/run'), /^npm ci\nnpm test\n$/m);
  });
});

describe('the diagrams', () => {
  test('every Mermaid diagram of the README and docs/ parses with Mermaid itself, as GitHub renders it', async () => {
    // Mermaid's parser needs a DOM for its sanitizer, which Node has not.
    const { JSDOM } = await import('jsdom');
    const { window } = new JSDOM('<!doctype html><html><body></body></html>');
    Object.assign(globalThis, { window, document: window.document });
    const { default: mermaid } = await import('mermaid');
    const failed: string[] = [];
    let diagrams = 0;
    for (const document of await documents()) {
      for (const [, source] of (await read(document)).matchAll(/^```mermaid\n([^]*?)^```$/gm)) {
        diagrams += 1;
        await mermaid.parse(source ?? '').catch((error: unknown) => {
          failed.push(`${document}: ${error instanceof Error ? error.message : String(error)}`);
        });
      }
    }
    assert.deepEqual(failed, []);
    assert.ok(diagrams >= 2, `the README and docs/architecture.md each have a diagram (found ${diagrams})`);
  });
});
