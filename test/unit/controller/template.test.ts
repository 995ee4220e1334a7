import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { templateEngine, templateLimits } from '../../../src/controller/template.ts';

const scope = { data: { user: 'app', password: 'hunter2-secret', host: 'db.internal' } };

async function render(template: string): Promise<string> {
  return (await templateEngine()).render('config', template, scope, performance.now() + 200);
}

async function failure(template: string): Promise<string> {
  try {
    await render(template);
  } catch (error) {
    return (error as Error).message;
  }
  assert.fail(`${template} rendered`);
}

describe('templates build Secret keys from the fetched values', () => {
  test('a config file, a URL, and the helpers: b64enc, b64dec, toJson, toYaml, trim, default, and LiquidJS filters', async () => {
    assert.equal(
      await render('url: postgres://{{ data.user }}:{{ data.password }}@{{ data.host }}:5432/app'),
      'url: postgres://app:hunter2-secret@db.internal:5432/app',
    );
    assert.equal(await render('{{ data.user | b64enc }}'), 'YXBw');
    assert.equal(await render('{{ "YXBw" | b64dec }}'), 'app');
    assert.equal(await render('{{ data.user | toJson }}'), '"app"');
    assert.equal(
      await render('{{ data | toYaml }}'),
      'user: app\npassword: hunter2-secret\nhost: db.internal',
    );
    assert.equal(await render('[{{ "  x  " | trim }}]'), '[x]');
    assert.equal(await render('{{ "" | default: "none" }}'), 'none');
    assert.equal(await render('{% if data.port %}{{ data.port }}{% else %}5432{% endif %}'), '5432');
    assert.equal(await render('{{ data.user | upcase }}'), 'APP');
  });
});

describe('a template cannot escape its sandbox', () => {
  test('no prototype or constructor: only own properties', async () => {
    assert.equal(
      await failure('{{ data.constructor.constructor }}'),
      'template for key "config": undefined variable: data.constructor.constructor, line:1, col:4',
    );
    assert.match(await failure('{{ data.__proto__ }}'), /undefined variable: data.__proto__/);
  });

  test('no file system: include, render and layout are not there', async () => {
    for (const tag of ['include', 'render', 'layout']) {
      assert.equal(
        await failure(`{% ${tag} "/etc/passwd" %}`),
        `template for key "config": tag "${tag}" not found, line:1, col:1`,
      );
    }
  });

  test('bounded: a runaway loop and a huge output stop with a reason', async () => {
    assert.match(await failure('{% for i in (1..100000000) %}x{% endfor %}'), /memory alloc limit exceeded/);
    assert.match(
      await failure(
        '{% for i in (1..1000) %}{{ data.password }}{{ data.password }}{{ data.password }}{% endfor %}'.repeat(
          20,
        ),
      ),
      /limit|renders more than/,
    );
    assert.match(await failure('x'.repeat(templateLimits.parse + 1)), /parse length limit exceeded|limit/);
  });

  test('a misspelt key is an error naming the key and the position, never a value', async () => {
    const message = await failure('line one\n{{ data.pasword }}');
    assert.equal(message, 'template for key "config": undefined variable: data.pasword, line:2, col:4');
    assert.doesNotMatch(message, /hunter2/);
  });

  test('a filter that fails on a value says where, never what', async () => {
    const message = await failure('{{ data.password | b64dec }}');
    assert.equal(message, 'template for key "config": b64dec: the value is not base64, line:1, col:1');
  });

  test('an undefined variable is named as written, never by what an expression held', async () => {
    const leaks = [
      '{% assign k = data.password | upcase %}{{ data[k] }}',
      '{{ data[data.password] }}',
      '{% assign k = data.password | slice: 0, 7 %}{{ data[k] }}',
    ];
    for (const template of leaks) {
      const message = await failure(template);
      assert.doesNotMatch(message, /hunter|HUNTER|aHVud/, message);
      assert.match(
        message,
        /^template for key "config": undefined variable: data\[(k|data\.password)\], line:1, col:\d+$/,
      );
    }
  });

  test('a filter that parses a value as an expression (where, where_exp, find_exp, has) never quotes it', async () => {
    const engine = await templateEngine();
    const values = { data: { v: 'Tr0ub4dorSecret', sym: '@Tr0ub4dor&3', json: '{"password":"hunter3"}' } };
    for (const [template, value] of [
      ['{{ "a,b" | split: "," | where: data.v }}', 'v'],
      ['{{ "a,b" | split: "," | where_exp: "x", data.sym }}', 'sym'],
      ['{{ "a,b" | split: "," | where_exp: "x", data.json }}', 'json'],
      ['{{ "a,b" | split: "," | find_exp: "x", data.sym }}', 'sym'],
      ['{{ "a,b" | split: "," | has: data.v }}', 'v'],
    ] as const) {
      let message = '';
      try {
        engine.render('config', template, values, performance.now() + 1_000);
      } catch (error) {
        message = (error as Error).message;
      }
      assert.equal(
        message,
        'template for key "config": a filter failed on an expression it was given at render time',
        `${template} (${value})`,
      );
    }
  });

  test('a filter chain that doubles a string stops at the memory limit, quickly', async () => {
    const started = performance.now();
    const message = await failure(`{{ data.password${' | toJson'.repeat(40)} | size }}`);
    assert.match(message, /memory alloc limit exceeded|too large/);
    assert.ok(performance.now() - started < 2_000, 'bounded before it ate the memory');
  });

  test('the templates of one definition share one time budget', async () => {
    const engine = await templateEngine();
    assert.throws(() => engine.render('late', '{{ data.user }}', scope, performance.now() - 1), {
      message: 'template for key "late": the templates of this definition took more than 200 ms',
    });
  });

  test('check parses without rendering: syntax errors with their position, for validate', async () => {
    const engine = await templateEngine();
    assert.equal(engine.check('config', '{{ data.anything }}'), undefined);
    assert.equal(
      engine.check('config', 'a\n{{ data.x')?.message,
      'template for key "config": output "{{ data.x" not closed, line:2, col:1',
    );
  });
});
