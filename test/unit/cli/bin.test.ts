import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseRuntimeStage, runtimeStage } from '../../support/dockerfile.ts';

const repoRoot = join(import.meta.dirname, '..', '..', '..');

test('the secrets-manager bin runs node with the options and malloc settings the image runs it with (its memory figures hold for both)', async () => {
  const shebang = (await readFile(join(repoRoot, 'src', 'main.ts'), 'utf8')).split('\n')[0] ?? '';
  const match = /^#!\/usr\/bin\/env -S((?: [A-Z_]+=\S+)*) node((?: --[\w-]+(?:=\S+)?)*)$/.exec(shebang);
  assert.ok(match, `the first line runs node through env -S: ${shebang}`);
  const words = (text: string | undefined) => (text ?? '').trim().split(' ').filter(Boolean);
  const binEnv: Record<string, string> = {};
  for (const word of words(match[1])) {
    const [name = '', value = ''] = word.split('=');
    binEnv[name] = value;
  }
  const binOptions = words(match[2]);
  const { entrypoint, env } = await runtimeStage();
  assert.equal(entrypoint[0], 'node');
  const imageOptions = entrypoint.slice(1, -1);
  assert.deepEqual(binOptions, imageOptions);
  assert.ok(imageOptions.length > 0, 'the image runs node with options of its own');
  // NODE_ENV is the user's to set where the bin runs; what tunes the process is the image's.
  const imageTuning = Object.fromEntries(Object.entries(env).filter(([name]) => name !== 'NODE_ENV'));
  assert.deepEqual(binEnv, imageTuning);
  assert.equal(imageTuning['MALLOC_ARENA_MAX'], '2');
});

test("the Dockerfile's runtime stage: its ENV lines in NAME=value form, the legacy form refused", () => {
  const stage = parseRuntimeStage(
    [
      'FROM node:24 AS build',
      'ENV BUILD_ONLY=1',
      'FROM node:24-slim AS runtime',
      'ENV A=1 B=two',
      'ENV C=',
      'ENTRYPOINT ["node", "x.js"]',
    ].join('\n'),
  );
  assert.deepEqual(stage.env, { A: '1', B: 'two', C: '' });
  assert.deepEqual(stage.entrypoint, ['node', 'x.js']);
  assert.throws(
    () => parseRuntimeStage('FROM node:24\nENV A 1\nENTRYPOINT ["node"]'),
    /ENV is not in NAME=value form: ENV A 1/,
  );
});
