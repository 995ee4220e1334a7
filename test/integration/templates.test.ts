// Templates on the real stack: Secret keys built from the fetched values, and a template that tries
// to leave its sandbox failing with a clear reason while the last good Secret stays.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  applyDefinition,
  putKv2,
  secretData,
  startOperator,
  waitForReady,
  waitReady,
} from '../support/operator.ts';
import { freshNamespace, kubectl } from '../support/stack.ts';

test('templates build a config file and a URL; a template escaping its sandbox is TemplateError and the last Secret stays', async (t) => {
  const ns = await freshNamespace(t);
  await putKv2(`secret/${ns}/db`, { username: 'app', password: 'hunter2-template' });
  const operator = await startOperator(t, { args: [`--watch-namespaces=${ns}`] });
  await waitReady(operator);
  const keysMap = {
    user: { path: `secret/${ns}/db`, key: 'username' },
    password: { path: `secret/${ns}/db`, key: 'password' },
  };
  await applyDefinition(ns, 'db', {
    name: 'db',
    keysMap,
    template: {
      data: {
        'config.yaml': 'database:\n  user: {{ data.user }}\n  password: {{ data.password | toJson }}\n',
        url: 'postgres://{{ data.user }}:{{ data.password }}@db:5432/app',
      },
    },
  });
  await waitForReady(ns, 'db', 'True');
  assert.deepEqual(await secretData(ns, 'db'), {
    'config.yaml': 'database:\n  user: app\n  password: "hunter2-template"\n',
    url: 'postgres://app:hunter2-template@db:5432/app',
  });

  for (const [escape, problem] of [
    ['{% include "/etc/passwd" %}', 'tag "include" not found, line:1, col:1'],
    ['{{ data.constructor.constructor }}', 'undefined variable: data.constructor.constructor, line:1, col:4'],
  ] as const) {
    await applyDefinition(ns, 'db', {
      name: 'db',
      keysMap,
      template: { data: { url: 'ok', escape }, mergePolicy: 'Merge' },
    });
    const failed = await waitForReady(ns, 'db', 'False', 'TemplateError');
    assert.equal(failed.message, `template for key "escape": ${problem}`);
    assert.deepEqual(
      Object.keys((await secretData(ns, 'db')) ?? {}).sort(),
      ['config.yaml', 'url'],
      'the last good Secret stays',
    );
  }
  const events = await kubectl(['get', 'events', '-n', ns, '-o', 'json']);
  assert.match(events, /TemplateError|template for key/);
  assert.doesNotMatch(events + operator.logs(), /hunter2-template/);
});
