import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const main = join(repoRoot, 'src', 'main.ts');

function run(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [main, ...args],
      { env: { PATH: process.env['PATH'] ?? '' } },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('secrets-manager validate', () => {
  test('accepts every sample', async () => {
    const dir = join(repoRoot, 'config', 'samples');
    const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).map((f) => join(dir, f));
    assert.ok(files.length >= 5);
    const result = await run(['validate', ...files]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim().split('\n').length, files.length);
  });

  test('--backend azure-kv checks Key Vault names and version ids: the Azure sample passes with it, not without', async () => {
    const sample = join(repoRoot, 'config', 'samples', 'azure-kv', 'azure-kv.yaml');
    const azure = await run(['validate', '--backend', 'azure-kv', sample]);
    assert.equal(azure.code, 0, azure.stderr);
    assert.equal(azure.stdout.trim(), `${sample}: SecretDefinition payments-db is valid`);
    const vault = await run(['validate', sample]);
    assert.equal(vault.code, 1);
    assert.match(vault.stderr, /spec\.keysMap\.password\.path: needs a mount and a secret name/);
    const unknown = await run(['-backend=gcp', 'validate', sample]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--backend: "gcp" must be vault or azure-kv/);
  });

  test('a template that does not parse is named with its key and position, offline', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'validate-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'template.yaml');
    await writeFile(
      file,
      [
        'apiVersion: secrets-manager.tuenti.io/v1alpha1',
        'kind: SecretDefinition',
        'metadata: {name: tpl}',
        'spec:',
        '  name: tpl',
        '  keysMap: {user: {path: secret/app, key: user}}',
        '  template:',
        '    data:',
        '      ok: "{{ data.user }}"',
        '      url: "first line\\n{{ data.user"',
      ].join('\n'),
    );
    const result = await run(['validate', file]);
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr.trim(),
      `${file}: SecretDefinition tpl: spec.template.data.url: output "{{ data.user" not closed, line:2, col:1`,
    );
  });

  test('rejects a bad manifest with one line per problem naming the field, and exit code 1', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'validate-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'bad.yaml');
    await writeFile(
      file,
      [
        'apiVersion: secrets-manager.tuenti.io/v1alpha1',
        'kind: SecretDefinition',
        'metadata: {name: bad}',
        'spec:',
        '  name: Bad_Name',
        '  keysMap:',
        '    k: {path: secret/x, key: k, encoding: hex}',
        '---',
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata: {name: ignored}',
      ].join('\n'),
    );
    const result = await run(['validate', file]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /bad\.yaml \(document 1\): SecretDefinition bad: spec\.name: must be a lowercase RFC 1123 subdomain name/,
    );
    assert.match(
      result.stderr,
      /SecretDefinition bad: spec\.keysMap\.k\.encoding: must be one of text, base64/,
    );
  });
});

describe('secrets-manager validate against YAML that defeats parsers', () => {
  test('an alias bomb, duplicate keys and a traversal hidden behind an alias are each one clear line, and the next file is still checked', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'validate-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const header = ['apiVersion: secrets-manager.tuenti.io/v1alpha1', 'kind: SecretDefinition'];
    const bomb = [
      ...header,
      'metadata: {name: bomb}',
      'spec:',
      '  name: a',
      '  l0: &l0 [x, x, x, x, x, x, x, x, x, x]',
    ];
    for (let level = 1; level < 6; level += 1) {
      bomb.push(
        `  l${level}: &l${level} [${Array(10)
          .fill(`*l${level - 1}`)
          .join(', ')}]`,
      );
    }
    const duplicate = [
      ...header,
      'metadata: {name: dup}',
      'spec:',
      '  name: a',
      '  name: b',
      '  dataFrom: [{path: secret/a}]',
    ];
    const aliased = [
      ...header,
      'metadata: {name: aliased}',
      'spec:',
      '  name: a',
      '  dataFrom: [{path: &p "kv/%2e%2e/auth/token/lookup-self"}]',
      '  keysMap: {k: {path: *p, key: id}}',
    ];
    const files = { 'bomb.yaml': bomb, 'dup.yaml': duplicate, 'aliased.yaml': aliased };
    for (const [name, lines] of Object.entries(files)) await writeFile(join(dir, name), lines.join('\n'));
    const result = await run(['validate', ...Object.keys(files).map((name) => join(dir, name))]);
    assert.equal(result.code, 1);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 4, result.stderr);
    assert.match(lines[0] ?? '', /bomb\.yaml: not valid YAML: Excessive alias count/);
    assert.match(lines[1] ?? '', /dup\.yaml: not valid YAML: Map keys must be unique/);
    assert.match(
      lines[2] ?? '',
      /aliased\.yaml: SecretDefinition aliased: spec\.keysMap\.k\.path: contains "%"/,
    );
    assert.match(
      lines[3] ?? '',
      /aliased\.yaml: SecretDefinition aliased: spec\.dataFrom\[0\]\.path: contains "%"/,
    );
  });
});

describe('secrets-manager flags', () => {
  test('a wrong flag value is one clear line and exit code 2', async () => {
    const result = await run(['--vault.engine', 'kv3']);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, 'secrets-manager: --vault.engine: "kv3" is not one of auto, kv1, kv2\n');
  });

  test('an unknown flag is exit code 2', async () => {
    const result = await run(['--no-such-flag']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown option '--no-such-flag'/);
  });

  test('a mistyped flag or a stray argument is named, never its value (it may be a secret)', async () => {
    for (const [args, said] of [
      [['--vault.secretid=hunter2-cli'], "error: unknown option '--vault.secretid'"],
      [["--vault.secretid=it's-hunter2-cli"], "error: unknown option '--vault.secretid'"],
      [
        ['-enable-leader-election=hunter2-cli'],
        'secrets-manager: -enable-leader-election: the value given is not a boolean (true or false)',
      ],
      [['run', '--vault.secretid=hunter2-cli'], "error: unknown option '--vault.secretid'"],
      [['validate', '--x=hunter2-cli', 'f.yaml'], "error: unknown option '--x'"],
      [
        ['hunter2-cli'],
        'error: too many arguments. Expected 0 arguments but got 1 (not repeated: one may be a secret).',
      ],
      [
        ['run', '--vault.skip-verify', 'hunter2-cli'],
        "error: too many arguments for 'run'. Expected 0 arguments but got 1 (not repeated: one may be a secret).",
      ],
    ] as const) {
      const result = await run(args);
      assert.equal(result.code, 2, args.join(' '));
      assert.equal(result.stderr.split('\n')[0], said, args.join(' '));
      assert.doesNotMatch(result.stderr + result.stdout, /hunter2/);
    }
  });

  test('a URL refused for its form is quoted without the user and password it carries', async () => {
    for (const [args, said] of [
      [
        ['--vault.url=ftp://admin:hunter2-cli@vault'],
        'secrets-manager: --vault.url: "ftp://…@vault" must be an http:// or https:// URL',
      ],
      [
        [
          '--backend=azure-kv',
          '--azure-kv.url=https://admin:hunter2-cli@kv.vault.azure.net',
          '--azure-kv.managed-client-id=x',
        ],
        `secrets-manager: --azure-kv.url: "https://…@kv.vault.azure.net" must be an https:// URL of a vault named <name>.<its cloud's domain>, like https://my-vault.vault.azure.cn`,
      ],
    ] as const) {
      const result = await run(args);
      assert.equal(result.code, 2, args.join(' '));
      assert.equal(result.stderr.trim(), said);
    }
  });

  test('approle without credentials says which flag or variable to set', async () => {
    const result = await run(['--vault.url', 'http://127.0.0.1:1']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--vault\.auth-method approle needs --vault\.role-id \(or VAULT_ROLE_ID/);
  });

  test('version prints the package version', async () => {
    const result = await run(['version']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^\d+\.\d+\.\d+\n$/);
  });
});
