import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Informer } from '../../../src/kube/informer.ts';
import type { InformerSource, ListPage, WatchEventHandler } from '../../../src/kube/sources.ts';
import { FakeClock, flush } from '../../support/fake-clock.ts';

interface Obj {
  metadata: { name: string; resourceVersion: string; uid: string };
}
/** An object; its uid is its name unless said (another uid: another object of the same name). */
const obj = (name: string, rv: string, uid = name): Obj => ({ metadata: { name, resourceVersion: rv, uid } });

class FakeSource implements InformerSource {
  readonly description = 'fake';
  lists = 0;
  page: ListPage = { items: [], resourceVersion: '1' };
  watchFrom: string[] = [];
  emit: WatchEventHandler = () => undefined;
  end: (error: unknown) => void = () => undefined;
  async list<T>(
    _signal: AbortSignal | undefined,
    convert: (item: unknown) => T | undefined,
  ): Promise<ListPage<T>> {
    this.lists += 1;
    const items = this.page.items.map(convert).filter((item): item is T => item !== undefined);
    return { items, resourceVersion: this.page.resourceVersion };
  }
  async watch(
    rv: string,
    onEvent: WatchEventHandler,
    done: (error: unknown) => void,
  ): Promise<AbortController> {
    this.watchFrom.push(rv);
    this.emit = onEvent;
    this.end = done;
    return new AbortController();
  }
}

function setup() {
  const clock = new FakeClock();
  const source = new FakeSource();
  const events: string[] = [];
  const informer = new Informer<Obj>({
    source,
    convert: (o) => o as Obj,
    keyOf: (o) => o.metadata.name,
    versionOf: (o) => o.metadata.resourceVersion,
    uidOf: (o) => o.metadata.uid,
    handlers: {
      upserted: (o) => events.push(`up ${o.metadata.name}@${o.metadata.resourceVersion}`),
      deleted: (o) => events.push(`del ${o.metadata.name}`),
    },
    clock,
    random: () => 0.5,
    logger: { warn: () => undefined, debug: () => undefined },
  });
  return { clock, source, events, informer };
}

test('lists, then watches from the list version, resuming from the last version seen', async () => {
  const { source, events, informer } = setup();
  source.page = { items: [obj('a', '5')], resourceVersion: '5' };
  informer.start();
  await flush();
  assert.ok(informer.synced);
  source.emit('ADDED', obj('b', '6'));
  source.emit('MODIFIED', obj('a', '7'));
  source.emit('DELETED', obj('b', '8'));
  assert.deepEqual(events, ['up a@5', 'up b@6', 'up a@7', 'del b']);
  assert.deepEqual(source.watchFrom, ['5']);
  const quiet = Object.assign(new Error('aborted'), { name: 'TimeoutError' });
  source.end(quiet);
  await flush();
  assert.deepEqual(source.watchFrom, ['5', '8'], 'a quiet watch resumes at once from the last version');
  await informer.stop();
});

test('an expired watch (410) relists, and what vanished meanwhile is deleted', async () => {
  const { source, events, informer } = setup();
  source.page = { items: [obj('a', '5'), obj('b', '5')], resourceVersion: '5' };
  informer.start();
  await flush();
  source.page = { items: [obj('a', '9')], resourceVersion: '9' };
  source.emit('ERROR', { code: 410 });
  await flush();
  assert.equal(source.lists, 2);
  assert.deepEqual(events.slice(2), ['up a@9', 'del b']);
  assert.deepEqual(source.watchFrom, ['5', '9']);
  await informer.stop();
});

test('a watch refused at the start with HTTP 410 relists at once instead of retrying the expired version', async () => {
  const { source, informer } = setup();
  source.page = { items: [obj('a', '5')], resourceVersion: '5' };
  informer.start();
  await flush();
  source.page = { items: [obj('a', '9')], resourceVersion: '9' };
  source.end(Object.assign(new Error('GET /api/v1/secrets answered 410'), { statusCode: 410 }));
  await flush();
  assert.equal(source.lists, 2);
  assert.deepEqual(source.watchFrom, ['5', '9']);
  await informer.stop();
});

test('a failing watch is resumed after a backoff from the last version; only 410 lists again, however long it runs', async () => {
  const { clock, source, informer } = setup();
  informer.start();
  await flush();
  source.end(new Error('connection reset'));
  await flush();
  assert.deepEqual(source.watchFrom, ['1']);
  await clock.advance(1_000);
  assert.deepEqual(source.watchFrom, ['1', '1']);
  // A day of watches that end quietly, each after a bookmark: resumed, never relisted.
  const quiet = Object.assign(new Error('aborted'), { name: 'TimeoutError' });
  for (let hour = 0; hour < 24; hour += 1) {
    source.emit('BOOKMARK', { metadata: { resourceVersion: String(100 + hour) } });
    await clock.advance(3_600_000);
    source.end(quiet);
    await flush();
  }
  assert.equal(source.lists, 1, 'no periodic relist');
  assert.equal(source.watchFrom.at(-1), '123', 'resumed from the last bookmark');
  assert.equal(source.watchFrom.length, 26);
  await informer.stop();
});

test('a written object is remembered unless the watch already brought another version; versions are never ordered', async () => {
  const { source, informer } = setup();
  source.page = { items: [obj('a', 'x1')], resourceVersion: 'x1' };
  informer.start();
  await flush();
  // Written from the cached version: the answer replaces it before the watch echoes it.
  informer.remember(obj('a', 'x3'), 'x1');
  assert.equal(informer.get('a')?.metadata.resourceVersion, 'x3');
  // The watch moved on (another writer) while a second write, based on x3, was in flight.
  source.emit('MODIFIED', obj('a', 'a9'));
  informer.remember(obj('a', 'z0'), 'x3');
  assert.equal(informer.get('a')?.metadata.resourceVersion, 'a9', "the watch's copy stays");
  // Created by the operator: remembered when the cache has nothing yet.
  informer.remember(obj('b', 'b1'), undefined);
  assert.equal(informer.get('b')?.metadata.resourceVersion, 'b1');
  await informer.stop();
});

test("a write's answer that trails the watch's deletion of the object does not bring it back", async () => {
  const { source, informer } = setup();
  source.page = { items: [obj('a', 'a1'), obj('b', 'b1'), obj('c', 'c1')], resourceVersion: 'r1' };
  informer.start();
  await flush();
  // Updated by the operator (a1 to a2), then marked for deletion and deleted by someone else
  // (a deletion comes with a version of its own); the watch brings it all before the answer.
  source.emit('MODIFIED', obj('a', 'a2'));
  source.emit('MODIFIED', obj('a', 'a3'));
  source.emit('DELETED', obj('a', 'a4'));
  assert.equal(informer.remember(obj('a', 'a2'), 'a1'), false);
  assert.equal(informer.get('a'), undefined, 'deleted after the write: stays deleted');
  // Created by the operator, and the watch saw it come and go before the create's answer.
  source.emit('ADDED', obj('n', 'n1'));
  source.emit('DELETED', obj('n', 'n2'));
  informer.remember(obj('n', 'n1'), undefined);
  assert.equal(informer.get('n'), undefined, 'created, then deleted: stays deleted');
  // The watch missed the update's event (a relist after 410 Gone), and the list no longer has b.
  source.page = { items: [obj('c', 'c1')], resourceVersion: 'r2' };
  source.end({ statusCode: 410 });
  await flush();
  assert.equal(source.lists, 2);
  informer.remember(obj('b', 'b2'), 'b1');
  assert.equal(informer.get('b'), undefined, 'gone from the list after the write: stays deleted');
  // Another object of a deleted name, created by the operator: remembered.
  assert.equal(informer.remember(obj('a', 'a9', 'a-again'), undefined), true);
  assert.equal(informer.get('a')?.metadata.resourceVersion, 'a9');
  await informer.stop();
});

test('an object the watch called deleted at the version a write was based on was still there: the write is remembered', async () => {
  // A watch with a label selector reports an object whose label was removed as deleted, with the
  // object as it is then; the operator read it there and put the label back.
  const { source, informer } = setup();
  source.page = { items: [obj('s', 's1')], resourceVersion: 'r1' };
  informer.start();
  await flush();
  source.emit('DELETED', obj('s', 's2'));
  assert.equal(informer.remember(obj('s', 's3'), 's2'), true);
  assert.equal(informer.get('s')?.metadata.resourceVersion, 's3');
  await informer.stop();
});

test('the notes of deleted keys are bounded: past 4096 deletions the oldest note goes', async () => {
  const { source, informer } = setup();
  informer.start();
  await flush();
  for (let i = 0; i <= 4096; i += 1) source.emit('DELETED', obj(`k${i}`, `d${i}`));
  informer.remember(obj('k0', 'v0'), undefined);
  assert.equal(informer.get('k0')?.metadata.resourceVersion, 'v0', 'the oldest note is gone');
  informer.remember(obj('k1', 'v1'), undefined);
  assert.equal(informer.get('k1'), undefined, 'the next one is still kept');
  await informer.stop();
});

test('stopping abandons a list that hangs (the apiserver answering 429 for a while, say)', async () => {
  const { source, informer } = setup();
  let listSignal: AbortSignal | undefined;
  source.list = <T>(signal: AbortSignal | undefined) =>
    new Promise<ListPage<T>>((_resolve, reject) => {
      listSignal = signal;
      signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    });
  informer.start();
  await flush();
  assert.equal(listSignal?.aborted, false);
  await informer.stop();
  assert.equal(listSignal?.aborted, true);
  assert.equal(informer.synced, false);
});
