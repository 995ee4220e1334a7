// `npm run demo` does what the README promises, on its own stack, and leaves nothing behind.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

test('the demo brings everything up, shows the samples Ready and a Vault change followed, then stops cleanly', async () => {
  const { stdout } = await exec(process.execPath, [join(repoRoot, 'scripts', 'demo.ts'), '--once'], {
    cwd: repoRoot,
    timeout: 180_000,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', NO_COLOR: '1' },
    maxBuffer: 16 * 1024 * 1024,
  });
  for (const name of [
    'app-db',
    'app-config',
    'ingress-tls',
    'keystore',
    'legacy-api',
    'web-tls',
    'app-db-dynamic',
  ]) {
    assert.match(stdout, new RegExp(`^\\s+${name}\\s+\\S+\\s+True\\s+Synced`, 'm'), `${name} shown Ready`);
  }
  assert.match(stdout, /Secret app-db-credentials: password=first-password/);
  assert.match(stdout, /Secret app-db-credentials followed in \d+\.\ds: password=second-password/);
  assert.match(stdout, /operator stopped/);
  const dir = /stack ready in [\d.]+s \(([^)]+)\)/.exec(stdout)?.[1];
  assert.ok(dir, 'the demo says where its stack ran');
  assert.equal(existsSync(dir), false, 'the demo stack was removed');
});
