import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildProgram, type ExplainRequest } from '../../../src/cli.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function run(
  script: string,
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'src', script), ...args],
      {
        env: {
          PATH: process.env['PATH'] ?? '',
          VAULT_ADDR: 'http://127.0.0.1:1',
          KUBECONFIG: '/nonexistent',
        },
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function parsed(
  args: readonly string[],
): Promise<{ request: ExplainRequest; settings: Record<string, unknown> }> {
  let got: { request: ExplainRequest; settings: Record<string, unknown> } | undefined;
  const program = buildProgram({
    run: async () => undefined,
    validate: async () => 0,
    explain: async (request, settings) => {
      got = { request, settings };
      return 0;
    },
    version: () => '0.0.0',
  });
  await program.parseAsync(['node', 'secrets-manager', ...args]);
  assert.ok(got, 'explain was called');
  return got;
}

describe('secrets-manager explain on the command line', () => {
  test('takes NAMESPACE/NAME or -f FILE [NAME], -o json, and the operator flags before or after it', async () => {
    const before = await parsed(['--access-policy=/p.yaml', 'explain', 'team-a/app-db']);
    assert.deepEqual(before.request, { definition: 'team-a/app-db', output: 'text' });
    assert.equal(before.settings['accessPolicy'], '/p.yaml');
    const after = await parsed([
      'explain',
      '-f',
      'defs.yaml',
      'app-db',
      '--output',
      'json',
      '-access-policy',
      '/q.yaml',
    ]);
    assert.deepEqual(after.request, { definition: 'app-db', file: 'defs.yaml', output: 'json' });
    assert.equal(after.settings['accessPolicy'], '/q.yaml');
  });

  test('--help describes the argument and the options, with examples', async () => {
    const { code, stdout } = await run('main.ts', ['explain', '--help']);
    assert.equal(code, 0);
    for (const text of [
      '[definition]',
      'NAMESPACE/NAME',
      '-f, --filename <file>',
      '-o, --output <format>',
      '"json"',
      'Examples:',
      'kubectl secrets-manager explain team-a/app-db',
    ])
      assert.ok(stdout.includes(text), `--help says ${text}`);
  });

  test('usage errors say what to fix and exit 2: no definition, no namespace, an unreadable file, an unknown output', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'explain-cli-'));
    try {
      const none = await run('main.ts', ['explain']);
      assert.equal(none.code, 2);
      assert.match(none.stderr, /say which definition: secrets-manager explain NAMESPACE\/NAME/);
      const bare = await run('main.ts', ['explain', 'app-db']);
      assert.equal(bare.code, 2);
      assert.match(bare.stderr, /write NAMESPACE\/NAME, for example team-a\/app-db/);
      const missing = await run('main.ts', ['explain', '-f', join(dir, 'absent.yaml')]);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /absent\.yaml cannot be read: ENOENT/);
      const two = join(dir, 'two.yaml');
      const doc = (name: string) =>
        `kind: SecretDefinition\napiVersion: secrets-manager.tuenti.io/v1alpha1\nmetadata: {name: ${name}}\nspec: {name: s}\n`;
      await writeFile(two, `${doc('a')}---\n${doc('b')}`);
      const several = await run('main.ts', ['explain', '-f', two]);
      assert.equal(several.code, 2);
      assert.match(several.stderr, /holds 2 SecretDefinitions \(a, b\): say which/);
      const output = await run('main.ts', ['explain', 'a/b', '-o', 'yaml']);
      assert.equal(output.code, 2);
      assert.match(output.stderr, /Allowed choices are text, json/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the kubectl plugin is a bin that runs the same command line', async () => {
    const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    assert.equal(pkg.bin['kubectl-secrets_manager'], 'dist/kubectl-plugin.js');
    const { code, stdout } = await run('kubectl-plugin.ts', ['explain', '--help']);
    assert.equal(code, 0);
    assert.match(stdout, /Usage: secrets-manager explain/);
  });
});
