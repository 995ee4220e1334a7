import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProviderError } from '../../../src/providers/errors.ts';
import type { SecretData } from '../../../src/providers/provider.ts';
import { PathPoller } from '../../../src/providers/path-poller.ts';
import { RefreshBudget } from '../../../src/providers/refresh-budget.ts';
import { FakeClock, nextTurn } from '../../support/fake-clock.ts';

class FakeReader {
  readonly reads: string[] = [];
  readonly priorities: string[] = [];
  values = new Map<string, SecretData | ProviderError>();
  async read(path: string, _version?: number, options?: { priority?: string }): Promise<SecretData> {
    this.reads.push(path);
    this.priorities.push(`${path}:${options?.priority ?? 'none'}`);
    await nextTurn();
    const value = this.values.get(path);
    if (value instanceof ProviderError) throw value;
    if (!value) throw new ProviderError('PathNotFound', `no secret at ${path}`);
    return value;
  }
}

function setup() {
  const clock = new FakeClock();
  const reader = new FakeReader();
  const changed: string[][] = [];
  let shared = 0;
  const poller = new PathPoller({
    reader,
    clock,
    random: () => 0.5,
    onChange: (users) => changed.push([...users].sort()),
    observer: { shared: () => (shared += 1) },
    unavailable: 'VaultUnavailable',
  });
  return { clock, reader, changed, poller, shared: () => shared };
}

describe('the path poller', () => {
  test('reads start exactly one interval apart after the first refresh, however long each read takes', async () => {
    const clock = new FakeClock();
    const started: number[] = [];
    const reader = {
      async read(): Promise<SecretData> {
        started.push(clock.monotonic());
        await clock.sleep(300); // a slow answer
        return { v: 1 };
      },
    };
    const poller = new PathPoller({
      reader,
      clock,
      random: () => 0.5,
      onChange: () => undefined,
      unavailable: 'VaultUnavailable',
    });
    poller.track('ns/one', [{ path: 'secret/a' }], 10_000);
    const first = poller.get({ path: 'secret/a' });
    await clock.advance(300);
    await first;
    await clock.advance(60_000);
    assert.deepEqual(started, [0, 9_500, 19_500, 29_500, 39_500, 49_500, 59_500]);
  });

  test('a wall clock stepped back during a read does not postpone the next one', async () => {
    const clock = new FakeClock();
    const started: number[] = [];
    const reader = {
      async read(): Promise<SecretData> {
        started.push(clock.monotonic());
        if (started.length === 2) clock.stepWallClock(-3_600_000); // NTP steps back an hour
        return { v: 1 };
      },
    };
    const poller = new PathPoller({
      reader,
      clock,
      random: () => 0.5,
      onChange: () => undefined,
      unavailable: 'VaultUnavailable',
    });
    poller.track('ns/one', [{ path: 'secret/a' }], 10_000);
    await poller.get({ path: 'secret/a' });
    await clock.advance(30_000);
    assert.deepEqual(started, [0, 9_500, 19_500, 29_500]);
  });

  test("a read that fails without a reason gets the backend's own: ProviderUnavailable for Azure Key Vault", async () => {
    const clock = new FakeClock();
    const reader = {
      read: (): Promise<SecretData> => Promise.reject(new Error('socket hang up')),
    };
    const poller = new PathPoller({
      reader,
      clock,
      random: () => 0.5,
      onChange: () => undefined,
      unavailable: 'ProviderUnavailable',
    });
    poller.track('ns/one', [{ path: 'app-db' }], 10_000);
    await assert.rejects(poller.get({ path: 'app-db' }), {
      name: 'ProviderError',
      reason: 'ProviderUnavailable',
      message: 'socket hang up',
    });
  });

  test('many definitions on one path cost one read per interval', async () => {
    const { clock, reader, poller, shared } = setup();
    reader.values.set('secret/a', { v: 1 });
    for (const user of ['ns/one', 'ns/two', 'ns/three']) poller.track(user, [{ path: 'secret/a' }], 10_000);
    const answers = await Promise.all(
      ['ns/one', 'ns/two', 'ns/three'].map(() => poller.get({ path: 'secret/a' })),
    );
    assert.deepEqual(answers, [{ v: 1 }, { v: 1 }, { v: 1 }]);
    assert.equal(reader.reads.length, 1);
    await clock.advance(30_000);
    assert.equal(reader.reads.length, 4, 'one read per 10s interval');
    await poller.get({ path: 'secret/a' });
    // The three gets joined the one read; only this last one was answered from the cache.
    assert.equal(shared(), 1);
  });

  test('a first read, or one a definition waits for, goes as first; a timed poll of a path read before as a refresh', async () => {
    const { clock, reader, poller } = setup();
    reader.values.set('secret/a', { v: 1 });
    poller.track('ns/one', [{ path: 'secret/a' }, { path: 'secret/missing' }], 10_000);
    await poller.get({ path: 'secret/a' });
    await assert.rejects(poller.get({ path: 'secret/missing' }), { reason: 'PathNotFound' });
    await clock.advance(10_000);
    await poller.get({ path: 'secret/a' }, true);
    const of = (path: string) =>
      reader.priorities.filter((p) => p.startsWith(`${path}:`)).map((p) => p.split(':')[1]);
    assert.deepEqual(of('secret/a'), ['first', 'refresh', 'first']);
    // Never read successfully: its retries are still first reads.
    // Read at 0 and retried after 1, 2 and 4 s of backoff: at 1, 3 and 7 s.
    assert.equal(of('secret/missing').length, 4);
    assert.ok(of('secret/missing').every((priority) => priority === 'first'));
    // Read once, failing now: its retries are refreshes, behind the first reads of other paths.
    reader.values.set('secret/a', new ProviderError('VaultUnavailable', 'down'));
    const before = of('secret/a').length;
    await clock.advance(30_000);
    const retries = of('secret/a').slice(before);
    // Retried after 1, 2, 4, 8 and then the 10 s interval: at 11, 13, 17, 25 and 35 s.
    assert.equal(retries.length, 5);
    assert.deepEqual(new Set(retries), new Set(['refresh']));
  });

  test('a change is announced to every user of the path, and nothing is announced without one', async () => {
    const { clock, reader, poller, changed } = setup();
    reader.values.set('secret/a', { v: 1 });
    poller.track('ns/one', [{ path: 'secret/a' }], 5_000);
    poller.track('ns/two', [{ path: 'secret/a' }, { path: 'secret/b' }], 5_000);
    reader.values.set('secret/b', { w: 1 });
    await poller.get({ path: 'secret/a' });
    await poller.get({ path: 'secret/b' });
    await clock.advance(5_000);
    assert.deepEqual(changed, []);
    reader.values.set('secret/a', { v: 2 });
    await clock.advance(5_000);
    assert.deepEqual(changed, [['ns/one', 'ns/two']]);
    assert.deepEqual(await poller.get({ path: 'secret/a' }), { v: 2 });
  });

  test('the shortest interval among users wins, and an untracked path is no longer read', async () => {
    const { clock, reader, poller } = setup();
    reader.values.set('secret/a', { v: 1 });
    poller.track('slow', [{ path: 'secret/a' }], 60_000);
    poller.track('fast', [{ path: 'secret/a' }], 2_000);
    await poller.get({ path: 'secret/a' });
    await clock.advance(10_000);
    // Every 2 s: at 0, then 1.9 (the first refresh spread by a twentieth), 3.9, 5.9, 7.9 and 9.9 s.
    assert.equal(reader.reads.length, 6);
    poller.untrack('fast');
    poller.untrack('slow');
    assert.equal(poller.size, 0);
    const before = reader.reads.length;
    await clock.advance(120_000);
    assert.equal(reader.reads.length, before);
  });

  test('a faster definition joining a path already polled pulls its next read in', async () => {
    const { clock, reader, poller } = setup();
    reader.values.set('secret/a', { v: 1 });
    poller.track('slow', [{ path: 'secret/a' }], 60_000);
    await poller.get({ path: 'secret/a' });
    await clock.advance(1_000);
    poller.track('fast', [{ path: 'secret/a' }], 5_000);
    await clock.advance(4_000);
    assert.equal(reader.reads.length, 2, 'read again 5 s after the last read, not 60 s');
    await clock.advance(5_000);
    assert.equal(reader.reads.length, 3);
  });

  test('a failing path whose error text keeps changing announces nothing; a change of reason or status does', async () => {
    const { clock, reader, poller, changed } = setup();
    const failing = (message: string, status?: number) =>
      reader.values.set('secret/a', new ProviderError('VaultUnavailable', message, status));
    failing('read ECONNRESET');
    poller.track('ns/one', [{ path: 'secret/a' }], 10_000);
    await assert.rejects(poller.get({ path: 'secret/a' }));
    for (const text of ['socket hang up', 'no answer within 5000ms', 'read ECONNRESET']) {
      failing(text);
      await clock.advance(10_000);
    }
    assert.deepEqual(changed, []);
    failing('Vault answered 503 reading Vault path secret/a', 503);
    await clock.advance(10_000);
    reader.values.set(
      'secret/a',
      new ProviderError('Forbidden', 'the Vault policy does not allow reading secret/a', 403),
    );
    await clock.advance(10_000);
    assert.deepEqual(changed, [['ns/one'], ['ns/one']]);
  });

  test('a failing path reports its error, is retried sooner than its interval, and its recovery is announced', async () => {
    const { clock, reader, poller, changed } = setup();
    reader.values.set('secret/a', new ProviderError('VaultUnavailable', 'down'));
    poller.track('ns/one', [{ path: 'secret/a' }], 60_000);
    await assert.rejects(poller.get({ path: 'secret/a' }), /down/);
    await assert.rejects(poller.get({ path: 'secret/a' }), /down/);
    assert.equal(reader.reads.length, 1, 'the cached failure costs no request');
    reader.values.set('secret/a', { v: 1 });
    await clock.advance(2_000);
    assert.deepEqual(changed, [['ns/one']]);
    assert.deepEqual(await poller.get({ path: 'secret/a' }), { v: 1 });
  });
});

test('when the backend answers again, paths that found it unavailable are read at once; a missing path keeps its schedule', async () => {
  const { clock, reader, poller, changed } = setup();
  reader.values.set('secret/a', new ProviderError('VaultUnavailable', 'down'));
  reader.values.set('secret/b', new ProviderError('VaultUnavailable', 'down'));
  poller.track('ns/one', [{ path: 'secret/a' }, { path: 'secret/missing' }], 60_000);
  poller.track('ns/two', [{ path: 'secret/b' }], 60_000);
  for (const path of ['secret/a', 'secret/b', 'secret/missing']) {
    await assert.rejects(poller.get({ path }));
  }
  // Failing for a while: the next retries are seconds away.
  await clock.advance(20_000);
  const before = reader.reads.length;
  reader.values.set('secret/a', { v: 1 });
  reader.values.set('secret/b', { w: 1 });
  assert.equal(poller.retryUnavailable(), 2);
  await clock.advance(0);
  assert.deepEqual(reader.reads.slice(before).sort(), ['secret/a', 'secret/b']);
  assert.deepEqual(changed, [['ns/one'], ['ns/two']]);
  assert.deepEqual(await poller.get({ path: 'secret/a' }), { v: 1 });
  assert.equal(poller.retryUnavailable(), 0, 'nothing left that found the backend unavailable');
});

test('a fresh get reads Vault even while the cached copy is current', async () => {
  const { reader, poller } = setup();
  reader.values.set('secret/a', { v: 1 });
  poller.track('ns/one', [{ path: 'secret/a' }], 60_000);
  await poller.get({ path: 'secret/a' });
  reader.values.set('secret/a', { v: 2 });
  assert.deepEqual(await poller.get({ path: 'secret/a' }), { v: 1 });
  assert.deepEqual(await poller.get({ path: 'secret/a' }, true), { v: 2 });
  assert.equal(reader.reads.length, 2);
});

test('when the paths need more reads than the budget, every path is read less often by the same factor, and none is starved', async () => {
  const clock = new FakeClock();
  const reader = new FakeReader();
  // --vault.qps 2 leaves 1.6 reads/s to refreshes; 4 paths every second ask for 4/s: stretch 2.5.
  const budget = new RefreshBudget({ qps: 2, clock, onChange: () => undefined });
  const poller = new PathPoller({
    reader,
    clock,
    random: () => 0.5,
    onChange: () => undefined,
    budget,
    unavailable: 'VaultUnavailable',
  });
  const paths = ['secret/a', 'secret/b', 'secret/c', 'secret/d'];
  for (const path of paths) reader.values.set(path, { v: 1 });
  for (const [i, path] of paths.entries()) poller.track(`ns/${i}`, [{ path }], 1_000);
  await Promise.all(paths.map((path) => poller.get({ path })));
  assert.equal(budget.factor, 2.5);
  await clock.advance(47_000);
  // One first read; the first refresh after 2.5 s x 0.95 (spread), then one every 2.5 s: at
  // 2.375, 4.875, ... 44.875 s, 18 refreshes each.
  assert.deepEqual(
    paths.map((path) => reader.reads.filter((read) => read === path).length),
    [19, 19, 19, 19],
  );
  // Three definitions leave: the demand fits again, and the last path is read every second.
  for (const i of [0, 1, 2]) poller.untrack(`ns/${i}`);
  assert.equal(budget.factor, 1);
  const before = reader.reads.length;
  await clock.advance(10_000);
  assert.equal(reader.reads.length - before, 10, 'once a second for 10 s');
  poller.stop();
  budget.stop();
});

describe('a change the backend announces (its audit stream)', () => {
  test('is one read of every source of the path soon after, however many announcements; its users are told of the new data', async () => {
    const { clock, reader, changed, poller } = setup();
    reader.values.set('secret/app', { v: 1 });
    poller.track('ns/a', [{ path: 'secret/app' }, { path: 'secret/app', version: 3 }], 600_000);
    poller.track('ns/b', [{ path: 'secret/other' }], 600_000);
    reader.values.set('secret/other', { v: 0 });
    await poller.get({ path: 'secret/app' });
    await poller.get({ path: 'secret/app', version: 3 });
    await poller.get({ path: 'secret/other' });
    reader.reads.length = 0;

    reader.values.set('secret/app', { v: 2 });
    assert.deepEqual(
      poller.changed('secret/app', 250),
      { sources: 2, reads: 2 },
      'both versions of the path',
    );
    assert.deepEqual(poller.changed('secret/app', 250), { sources: 2, reads: 0 }, 'asked for already');
    assert.deepEqual(poller.changed('secret/nobody', 250), { sources: 0, reads: 0 });
    await clock.advance(249);
    assert.deepEqual(reader.reads, [], 'not before the window closes');
    await clock.advance(1);
    assert.deepEqual(reader.reads, ['secret/app', 'secret/app'], 'one read per source, not per announcement');
    assert.deepEqual(changed, [['ns/a'], ['ns/a']]);
    changed.length = 0;
    // A change right after: at most one read of the path per second.
    reader.reads.length = 0;
    reader.values.set('secret/app', { v: 3 });
    poller.changed('secret/app', 250);
    await clock.advance(750);
    assert.deepEqual(reader.reads, []);
    await clock.advance(250);
    assert.deepEqual(reader.reads, ['secret/app', 'secret/app']);
    // Polling goes on: the next refresh a full interval after that read, not before.
    reader.reads.length = 0;
    await clock.advance(599_000);
    assert.deepEqual(
      reader.reads.filter((path) => path === 'secret/app'),
      [],
    );
  });
});

/** A poller behind a change stream that is up (least interval 10 minutes) until the test says not. */
function withStream() {
  const clock = new FakeClock();
  const reader = new FakeReader();
  const stream = { up: true };
  const poller = new PathPoller({
    reader,
    clock,
    random: () => 0.5,
    onChange: () => undefined,
    unavailable: 'VaultUnavailable',
    minIntervalMs: () => (stream.up ? 600_000 : 0),
  });
  return { clock, reader, poller, stream };
}

test('while a change stream is up, paths wait the least interval it sets; when it goes, their own interval applies again, overdue paths spread over it', async () => {
  const { clock, reader, poller, stream } = withStream();
  reader.values.set('secret/app', { v: 1 });
  poller.track('ns/a', [{ path: 'secret/app' }], 10_000);
  await poller.get({ path: 'secret/app' });
  reader.reads.length = 0;
  await clock.advance(60_000);
  assert.deepEqual(reader.reads, [], 'not every 10s while the stream carries changes');
  stream.up = false;
  poller.intervalsChanged();
  await clock.advance(4_999);
  assert.deepEqual(reader.reads, [], 'spread: half the interval in (random 0.5)');
  await clock.advance(1);
  assert.deepEqual(reader.reads, ['secret/app'], 'overdue by its own interval: read within one');
  await clock.advance(10_000);
  assert.deepEqual(reader.reads, ['secret/app', 'secret/app'], 'then every 10s');
});

test('a change announced while a refresh is in flight is read after it: the announcement is never lost', async () => {
  const clock = new FakeClock();
  let release: (() => void) | undefined;
  let value = 1;
  const reads: number[] = [];
  const reader = {
    async read(): Promise<SecretData> {
      const seen = value;
      reads.push(seen);
      await new Promise<void>((resolve) => (release = resolve));
      return { v: seen };
    },
  };
  const poller = new PathPoller({
    reader,
    clock,
    random: () => 0.5,
    onChange: () => undefined,
    unavailable: 'VaultUnavailable',
  });
  poller.track('ns/a', [{ path: 'secret/app' }], 10_000);
  const first = poller.get({ path: 'secret/app' });
  await nextTurn();
  release?.();
  await first;
  // A refresh starts (it reads the old value), and the change is announced while it runs.
  await clock.advance(9_500);
  assert.deepEqual(reads, [1, 1]);
  value = 2;
  poller.changed('secret/app', 250);
  await clock.advance(300);
  release?.();
  await clock.advance(1);
  await nextTurn();
  assert.deepEqual(reads, [1, 1, 2], 'read again after the refresh that began before the change');
  release?.();
  // A second announcement is still heard.
  value = 3;
  poller.changed('secret/app', 250);
  await clock.advance(1_000);
  assert.deepEqual(reads, [1, 1, 2, 3]);
  release?.();
});

test('a path that is not there is not retried every few seconds while a change stream is up: its return is announced', async () => {
  const { clock, reader, poller, stream } = withStream();
  poller.track('ns/a', [{ path: 'secret/gone' }], 10_000);
  await assert.rejects(poller.get({ path: 'secret/gone' }), { reason: 'PathNotFound' });
  await clock.advance(60_000);
  assert.deepEqual(reader.reads, ['secret/gone'], 'no retries every second');
  stream.up = false;
  await clock.advance(600_000);
  await assert.rejects(poller.get({ path: 'secret/gone' }), { reason: 'PathNotFound' });
  const before = reader.reads.length;
  await clock.advance(5_000);
  assert.ok(reader.reads.length > before, 'without the stream, retried with backoff again');
});
