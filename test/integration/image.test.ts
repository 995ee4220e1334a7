// There is no Docker engine here, so this reproduces the Dockerfile's runtime stage by hand:
// production dependencies, the compiled output and the files the final stage copies, in a
// folder nobody can write to, run as the image's numeric user.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runtimeStage } from '../support/dockerfile.ts';

const exec = promisify(execFile);
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

async function setMode(dir: string, mode: number): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isDirectory()) await chmod(join(entry.parentPath, entry.name), mode | 0o111);
  }
  await chmod(dir, mode | 0o111);
}

test('the runtime image holds production dependencies and dist only, and runs as a non-root user with nothing writable', async (t) => {
  const stage = await runtimeStage();
  assert.match(stage.from, /^node:24[^\s]* AS runtime/, 'the final stage is the Node 24 runtime');
  assert.deepEqual(stage.copies, [
    'COPY --from=production-dependencies /app/node_modules ./node_modules',
    'COPY --from=build /app/dist ./dist',
    'COPY package.json crd.yaml ./',
  ]);
  assert.match(stage.user, /^[1-9]\d*:[1-9]\d*$/, 'a numeric, non-root user');
  // A small young generation and a slowly growing old one keep the resident memory near the live
  // heap (docs/performance.md).
  assert.deepEqual(stage.entrypoint, [
    'node',
    '--max-semi-space-size=2',
    '--heap-growing-percent=20',
    '/app/dist/main.js',
  ]);
  const nodeOptions = stage.entrypoint.slice(1, -1);
  const [uid, gid] = stage.user.split(':').map(Number);

  const app = await mkdtemp(join(tmpdir(), 'runtime-image-'));
  t.after(async () => {
    await setMode(app, 0o755);
    await rm(app, { recursive: true, force: true });
  });
  for (const file of ['package.json', 'package-lock.json', 'crd.yaml'])
    await copyFile(join(repoRoot, file), join(app, file));
  await exec('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: app,
    maxBuffer: 16 * 1024 * 1024,
  });
  await rm(join(app, 'package-lock.json'));
  await exec(join(repoRoot, 'node_modules', '.bin', 'tsc'), [
    '-p',
    join(repoRoot, 'tsconfig.build.json'),
    '--outDir',
    join(app, 'dist'),
  ]);
  const installed = await readdir(join(app, 'node_modules'));
  for (const devOnly of ['typescript', 'eslint', 'prettier', 'node', 'typescript-eslint'])
    assert.ok(!installed.includes(devOnly), `${devOnly} is not shipped`);
  // The clients the operator talks through are runtime dependencies: the image has them.
  for (const runtime of [
    '@kubernetes',
    'node-vault',
    'undici',
    'mustache',
    'prom-client',
    'commander',
    'winston',
  ])
    assert.ok(installed.includes(runtime), `${runtime} is shipped`);
  assert.deepEqual((await readdir(app)).sort(), ['crd.yaml', 'dist', 'node_modules', 'package.json']);

  // Read-only for everyone, and the process runs as the image's user.
  await setMode(app, 0o555);
  const node = join(repoRoot, 'node_modules', '.bin', 'node');
  // Only root may switch users; anyone else already cannot write to a 0555 tree.
  const asImageUser = process.getuid?.() === 0 ? { uid, gid } : {};
  const run = (args: string[]) =>
    exec(node, [...nodeOptions, join(app, 'dist', 'main.js'), ...args], {
      cwd: '/',
      ...asImageUser,
      env: { ...stage.env, PATH: '/usr/bin:/bin' },
    });
  const help = await run(['--help']);
  assert.match(help.stdout, /Usage: secrets-manager/);
  assert.match(help.stdout, /--vault\.url <url>/);
  const samples = (await readdir(join(repoRoot, 'config', 'samples')))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join(repoRoot, 'config', 'samples', f));
  const validated = await run(['validate', ...samples]);
  assert.equal(validated.stdout.trim().split('\n').length, samples.length);
  // Everything the running operator loads resolves in the production tree, read-only, as its user.
  const loaded = await exec(
    node,
    [
      '--input-type=module',
      '--eval',
      `await import(${JSON.stringify(join(app, 'dist', 'app.js'))}); await import(${JSON.stringify(join(app, 'dist', 'providers', 'vault', 'provider.js'))}); console.log('loaded');`,
    ],
    { cwd: '/', ...asImageUser, env: { PATH: '/usr/bin:/bin' } },
  );
  assert.equal(loaded.stdout.trim(), 'loaded');
});
