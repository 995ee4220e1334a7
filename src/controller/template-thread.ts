// The thread the operator's templates render on (threaded-renderer.ts starts it): one definition's
// templates a message, answered with what they rendered or why one failed. Its own event loop, so
// a render that takes its whole budget never holds up the main one (lease renewals, watches).

import { parentPort } from 'node:worker_threads';
import { renderEach, templateEngine, type RenderOutcome, type TemplateScope } from './template.ts';

interface Job {
  readonly templates: Readonly<Record<string, string>>;
  readonly scope: TemplateScope;
}

function isRecordOfText(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.values(value).every((item) => typeof item === 'string')
  );
}

function isJob(value: unknown): value is Job {
  const job = value as Partial<Job> | null;
  return (
    typeof job === 'object' &&
    job !== null &&
    isRecordOfText(job.templates) &&
    typeof job.scope === 'object' &&
    job.scope !== null &&
    isRecordOfText(job.scope.data)
  );
}

const port = parentPort;
if (!port) throw new Error('template-thread.ts runs as a worker thread');
const engine = await templateEngine();
port.on('message', (message: unknown) => {
  let outcome: RenderOutcome;
  if (!isJob(message)) {
    outcome = { ok: false, message: 'the template thread was sent something that is not a render' };
  } else {
    try {
      outcome = renderEach(engine, message.templates, message.scope);
    } catch {
      // A failure that is not a template's own (renderEach answers those): never its text, which
      // may hold a value.
      outcome = { ok: false, message: 'the templates failed in a way the operator does not know' };
    }
  }
  port.postMessage(outcome);
});
