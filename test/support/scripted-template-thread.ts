// A template thread that misbehaves on request, for threaded-renderer tests: a template key
// "stuck" never answers (a busy loop that checks no clock), "grow" fills the heap until the
// thread runs out of memory; anything else is answered with the templates as they were written.

import { parentPort } from 'node:worker_threads';

const port = parentPort;
if (!port) throw new Error('scripted-template-thread.ts runs as a worker thread');
port.on('message', (message: { templates: Record<string, string> }) => {
  if ('stuck' in message.templates) for (;;);
  if ('grow' in message.templates) {
    const held: number[][] = [];
    for (;;) held.push(new Array<number>(1_000_000).fill(held.length));
  }
  port.postMessage({ ok: true, rendered: message.templates });
});
