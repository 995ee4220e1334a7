import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { inThreadRenderer, templateLimits } from '../../../src/controller/template.ts';
import { ThreadedRenderer } from '../../../src/controller/threaded-renderer.ts';

const scripted = new URL('../../support/scripted-template-thread.ts', import.meta.url);

/** Own "__proto__" keys, as a definition may name them, kept as data on both sides of the thread. */
function withProto(record: Record<string, string>, value: string): Record<string, string> {
  Object.defineProperty(record, '__proto__', { value, enumerable: true, writable: true, configurable: true });
  return record;
}

describe('templates render on a thread of their own', () => {
  const renderer = new ThreadedRenderer();
  after(() => renderer.close());

  test('what a definition renders there is what it renders on the calling thread, keys named __proto__ too', async () => {
    const templates = withProto(
      { dsn: 'postgres://{{ data.user }}:{{ data.password }}@db' },
      '{{ data.user }}',
    );
    const scope = { data: withProto({ user: 'app', password: 'hunter2' }, 'p') };
    const threaded = await renderer.render(templates, scope);
    assert.deepEqual(threaded, await (await inThreadRenderer()).render(templates, scope));
    assert.ok(threaded.ok);
    assert.equal(threaded.rendered.dsn, 'postgres://app:hunter2@db');
    assert.ok(Object.hasOwn(threaded.rendered, '__proto__'));
    assert.equal(Object.getOwnPropertyDescriptor(threaded.rendered, '__proto__')?.value, 'app');
  });

  test('a failing template answers its own message, with no value', async () => {
    const outcome = await renderer.render(
      { url: 'ok', dsn: '{{ data.pasword }}' },
      { data: { password: 'hunter2' } },
    );
    assert.deepEqual(outcome, {
      ok: false,
      message: 'template for key "dsn": undefined variable: data.pasword, line:1, col:4',
    });
  });

  test('the event loop keeps turning while a template takes its whole budget', async () => {
    let turns = 0;
    let rendering = true;
    const turn = (): void => {
      turns += 1;
      if (rendering) setImmediate(turn);
    };
    setImmediate(turn);
    const outcome = await renderer.render(
      { slow: '{% for i in (1..2000) %}{% for j in (1..2000) %}{% endfor %}{% endfor %}' },
      { data: {} },
    );
    rendering = false;
    assert.equal(outcome.ok, false);
    assert.equal(
      outcome.ok ? '' : outcome.message,
      'template for key "slow": template render limit exceeded, line:1, col:25',
    );
    // On the calling thread the render would hold the loop for all of its 200 ms: no turn at all.
    assert.ok(turns > 20, `${turns} turns of the event loop during the render`);
  });

  test('renders wait their turn and each gets the whole budget', async () => {
    const outcomes = await Promise.all(
      ['a', 'b', 'c'].map((key) =>
        renderer.render({ [key]: `{{ data.${key} }}` }, { data: { [key]: key.toUpperCase() } }),
      ),
    );
    assert.deepEqual(outcomes, [
      { ok: true, rendered: { a: 'A' } },
      { ok: true, rendered: { b: 'B' } },
      { ok: true, rendered: { c: 'C' } },
    ]);
  });
});

describe('a template thread that misbehaves is stopped, and the next render gets a new one', () => {
  test('one that never answers is stopped once the budget and the grace have passed', async () => {
    const renderer = new ThreadedRenderer({ script: scripted, graceMs: 50 });
    const started = performance.now();
    assert.deepEqual(await renderer.render({ stuck: '' }, { data: {} }), {
      ok: false,
      message: `the templates of this definition took more than ${templateLimits.renderMs} ms`,
    });
    assert.ok(performance.now() - started >= templateLimits.renderMs + 50 - 5);
    assert.deepEqual(await renderer.render({ next: 'x' }, { data: {} }), {
      ok: true,
      rendered: { next: 'x' },
    });
    await renderer.close();
  });

  test('one that runs out of heap answers so, and the next render works', async () => {
    const renderer = new ThreadedRenderer({ script: scripted, heapMb: 16, graceMs: 60_000 });
    assert.deepEqual(await renderer.render({ grow: '' }, { data: {} }), {
      ok: false,
      message: 'the templates of this definition used more memory than the template thread has',
    });
    assert.deepEqual(await renderer.render({ next: 'x' }, { data: {} }), {
      ok: true,
      rendered: { next: 'x' },
    });
    await renderer.close();
  });

  test('closing answers every render waiting or running, and later ones, that the operator stops', async () => {
    const renderer = new ThreadedRenderer({ script: scripted, graceMs: 60_000 });
    const running = renderer.render({ stuck: '' }, { data: {} });
    const waiting = renderer.render({ next: 'x' }, { data: {} });
    await renderer.close();
    const stopping = { ok: false, message: 'the operator is stopping' };
    assert.deepEqual(await running, stopping);
    assert.deepEqual(await waiting, stopping);
    assert.deepEqual(await renderer.render({ later: 'x' }, { data: {} }), stopping);
  });
});
