import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { assignments, parseRuntimeStage, runtimeStage } from '../../support/dockerfile.ts';

const repoRoot = join(import.meta.dirname, '..', '..', '..');

test('the secrets-manager bin runs node with the options and malloc settings the image runs it with (its memory figures hold for both)', async () => {
  const shebang = (await readFile(join(repoRoot, 'src', 'main.ts'), 'utf8')).split('\n')[0] ?? '';
  const match = /^#!\/usr\/bin\/env -S((?: [A-Z_]+=\S+)*) node((?: --[\w-]+(?:=\S+)?)*)$/.exec(shebang);
  assert.ok(match, `the first line runs node through env -S: ${shebang}`);
  const words = (text: string | undefined) => (text ?? '').trim().split(' ').filter(Boolean);
  const binEnv = assignments(match[1] ?? '', 'the shebang');
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

test("the Dockerfile's runtime stage: its ENV lines in NAME=value form; quotes, $ and the legacy form refused", () => {
  const stage = parseRuntimeStage(
    [
      'FROM node:24 AS build',
      'ENV BUILD_ONLY=1',
      'FROM node:24-slim AS runtime',
      'ENV A=1 B=two',
      'env\tC=',
      'ENTRYPOINT ["node", "x.js"]',
    ].join('\n'),
  );
  assert.deepEqual(stage.env, { A: '1', B: 'two', C: '' });
  assert.deepEqual(stage.entrypoint, ['node', 'x.js']);
  for (const line of ['ENV A 1', 'ENV A="2"', 'ENV A=$B', 'ENV A=a\\ b'])
    assert.throws(
      () => parseRuntimeStage(`FROM node:24\n${line}\nENTRYPOINT ["node"]`),
      (error: Error) =>
        error.message ===
        `the Dockerfile's ENV is not in NAME=value form (no quotes, no $, no \\): ${line.slice(4)}`,
      line,
    );
});

test("an override variable sets the operator's environment over the image's, in the same form", () => {
  assert.deepEqual(assignments(' MALLOC_ARENA_MAX=8  X=a=b ', 'SOAK_ENV'), {
    MALLOC_ARENA_MAX: '8',
    X: 'a=b',
  });
  assert.deepEqual(assignments('', 'SOAK_ENV'), {});
  assert.throws(
    () => assignments('MALLOC_ARENA_MAX', 'SOAK_ENV'),
    /^Error: SOAK_ENV is not in NAME=value form/,
  );
});
