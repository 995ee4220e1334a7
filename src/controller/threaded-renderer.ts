// Templates render on a thread of their own, one definition at a time, so a render that takes its
// whole budget (templateLimits.renderMs) never holds up lease renewals, watches or other syncs on
// the main event loop. Every limit of template.ts holds there too; on top of them, the thread is
// stopped when one render outlives its budget by more than `graceMs` (a filter that never gets to
// check the time) or outgrows the thread's heap, and the next render starts a new thread. The
// thread starts on the first render, so an operator whose definitions use no template never has
// one, and it never keeps the process alive.

import { Worker } from 'node:worker_threads';
import { templateLimits, type RenderOutcome, type TemplateRenderer, type TemplateScope } from './template.ts';

export interface ThreadedRendererOptions {
  /** The thread's script; by default template-thread beside this file. */
  readonly script?: URL;
  /** How long past the render budget one render may run before its thread is stopped. */
  readonly graceMs?: number;
  /** The most the thread's heap may hold, in MiB. */
  readonly heapMb?: number;
}

interface Job {
  readonly templates: Readonly<Record<string, string>>;
  readonly scope: TemplateScope;
  readonly done: (outcome: RenderOutcome) => void;
}

interface Running {
  readonly job: Job;
  readonly worker: Worker;
  readonly watchdog: NodeJS.Timeout;
}

/** The thread's script beside this module: .ts from the sources, .js once compiled. */
function defaultScript(): URL {
  const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./template-thread${extension}`, import.meta.url);
}

function isOutcome(value: unknown): value is RenderOutcome {
  const outcome = value as { ok?: unknown; rendered?: unknown; message?: unknown } | null;
  if (typeof outcome !== 'object' || outcome === null) return false;
  if (outcome.ok === false) return typeof outcome.message === 'string';
  return (
    outcome.ok === true &&
    typeof outcome.rendered === 'object' &&
    outcome.rendered !== null &&
    Object.values(outcome.rendered).every((text) => typeof text === 'string')
  );
}

const stopping: RenderOutcome = { ok: false, message: 'the operator is stopping' };

export class ThreadedRenderer implements TemplateRenderer {
  readonly #script: URL;
  readonly #graceMs: number;
  readonly #heapMb: number;
  readonly #waiting: Job[] = [];
  #worker: Worker | undefined;
  #running: Running | undefined;
  #closed = false;

  constructor(options: ThreadedRendererOptions = {}) {
    this.#script = options.script ?? defaultScript();
    this.#graceMs = options.graceMs ?? 2_000;
    this.#heapMb = options.heapMb ?? 64;
  }

  render(templates: Readonly<Record<string, string>>, scope: TemplateScope): Promise<RenderOutcome> {
    if (this.#closed) return Promise.resolve(stopping);
    return new Promise((done) => {
      this.#waiting.push({ templates, scope, done });
      this.#next();
    });
  }

  /** Stops the thread; renders waiting or running answer that the operator is stopping. */
  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = undefined;
    for (const job of this.#waiting.splice(0)) job.done(stopping);
    if (this.#running) this.#finish(this.#running.worker, stopping, true);
    await worker?.terminate();
  }

  #next(): void {
    if (this.#running) return;
    const job = this.#waiting.shift();
    if (!job) return;
    const worker = this.#thread();
    const limitMs = templateLimits.renderMs + this.#graceMs;
    const watchdog = setTimeout(() => {
      this.#finish(worker, {
        ok: false,
        message: `the templates of this definition took more than ${templateLimits.renderMs} ms`,
      });
    }, limitMs);
    watchdog.unref();
    this.#running = { job, worker, watchdog };
    worker.postMessage({ templates: job.templates, scope: job.scope });
  }

  /** The running render's answer; a thread that did not answer is stopped, and the next starts. */
  #finish(worker: Worker, outcome: RenderOutcome, answered = false): void {
    const running = this.#running;
    if (!running || running.worker !== worker) return;
    clearTimeout(running.watchdog);
    this.#running = undefined;
    if (!answered && this.#worker === worker) {
      this.#worker = undefined;
      void worker.terminate();
    }
    running.job.done(outcome);
    this.#next();
  }

  #thread(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(this.#script, {
      // Nothing of the operator's environment or arguments: a template needs none of them.
      env: {},
      argv: [],
      resourceLimits: { maxOldGenerationSizeMb: this.#heapMb },
    });
    worker.unref();
    let failure = 'the template thread stopped';
    worker.on('message', (message: unknown) => {
      this.#finish(
        worker,
        isOutcome(message) ? message : { ok: false, message: 'the template thread answered something else' },
        true,
      );
    });
    worker.on('error', (error: Error & { code?: unknown }) => {
      failure =
        error.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? 'the templates of this definition used more memory than the template thread has'
          : 'the template thread failed';
    });
    worker.on('exit', () => {
      if (this.#worker === worker) this.#worker = undefined;
      this.#finish(worker, { ok: false, message: failure }, true);
    });
    this.#worker = worker;
    return worker;
  }
}
