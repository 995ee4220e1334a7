import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { runtimeStage } from '../../support/dockerfile.ts';

const repoRoot = join(import.meta.dirname, '..', '..', '..');

test('the secrets-manager bin runs node with the options the image runs it with (its memory figures hold for both)', async () => {
  const shebang = (await readFile(join(repoRoot, 'src', 'main.ts'), 'utf8')).split('\n')[0] ?? '';
  const match = /^#!\/usr\/bin\/env -S node((?: --[\w-]+(?:=\S+)?)*)$/.exec(shebang);
  assert.ok(match, `the first line runs node through env -S: ${shebang}`);
  const binOptions = (match[1] ?? '').trim().split(' ').filter(Boolean);
  const { entrypoint } = await runtimeStage();
  assert.equal(entrypoint[0], 'node');
  const imageOptions = entrypoint.slice(1, -1);
  assert.deepEqual(binOptions, imageOptions);
  assert.ok(imageOptions.length > 0, 'the image runs node with options of its own');
});
