// Templates that build Secret keys from the values a definition fetched (spec.template.data), with
// LiquidJS: a template language made for templates written by untrusted users. It runs no code
// of theirs (templates are interpreted, never compiled to JavaScript), reads only the data's own
// properties (no prototype, no constructor), and here it has no file system (include, render and
// layout are gone), no environment and no network. A definition's templates share one budget of
// time; each is bounded in length, in the memory its rendering allocates (our filters count what
// they make, as LiquidJS's own do) and in the size of what it renders. An error names what the
// author wrote and where, never what a value turned out to be.
//
// The engine is loaded on first use, so an operator whose definitions use no template never loads
// it (about 8 MiB of memory).

import { stringify } from 'yaml';

/** What a template sees: `data`, each Secret key the definition builds, as text. */
export interface TemplateScope {
  readonly data: Readonly<Record<string, string>>;
}

/** A template that failed: the key it builds, where in the template, and why (never a value). */
export class TemplateProblem extends Error {
  readonly key: string;
  constructor(key: string, message: string) {
    super(`template for key "${key}": ${message}`);
    this.name = 'TemplateProblem';
    this.key = key;
  }
}

export interface TemplateEngine {
  /** The text `template` renders to; throws TemplateProblem. */
  /** `deadline`: the performance.now() by which the definition's templates must be done. */
  render(key: string, template: string, scope: TemplateScope, deadline: number): string;
  /** Why `template` does not parse, or undefined: for validate, without rendering. */
  check(key: string, template: string): TemplateProblem | undefined;
}

/** What the templates of one definition rendered: each key's text, or why one failed. */
export type RenderOutcome =
  | { readonly ok: true; readonly rendered: Readonly<Record<string, string>> }
  | { readonly ok: false; readonly message: string };

/** Renders the templates of a definition, somewhere (the operator: on a thread of their own). */
export interface TemplateRenderer {
  render(templates: Readonly<Record<string, string>>, scope: TemplateScope): Promise<RenderOutcome>;
}

/** Bounds of one template. */
export const templateLimits = {
  /** Characters of a template. */
  parse: 64 * 1024,
  /** Characters of all the templates of a definition. */
  definition: 256 * 1024,
  /** Milliseconds of rendering, for all the templates of a definition together. */
  renderMs: 200,
  /** Bytes the rendering may allocate (strings, loops). */
  memory: 4 * 1024 * 1024,
  /** Characters of what one template renders. */
  output: 512 * 1024,
} as const;

/** What a filter is called on: the render's limits. */
interface FilterThis {
  readonly context: {
    readonly renderLimit: { check(now: number): void };
    readonly memoryLimit: { use(count: number): void };
  };
}

/** Tags that read files: a template has no file system. */
const fileTags = ['include', 'render', 'layout', 'block'];

/** A failure of one of our filters: its message is ours, and holds no value. */
class FilterFailure extends Error {}

interface LiquidFailure {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly originalError?: unknown;
  readonly token?: { readonly input?: unknown; getText(): string; getPosition(): [number, number] };
}

/**
 * Why `template` failed, in the author's terms: a syntax error (the template's own text), the
 * expression that named an undefined variable as written (`data[k]`, never what k held), a limit,
 * or our filter's own message; anything else only says where. Never a value: some of LiquidJS's
 * filters (where, find, has, group_by, the *_exp ones) parse an argument as an expression when
 * they run, so an argument that held a fetched value fails with the value as the text in error.
 * Such an error's token is in that value, not in the template, and then only that a filter
 * failed is said.
 */
function reason(error: unknown, template: string): string {
  const failure = (typeof error === 'object' && error !== null ? error : {}) as LiquidFailure;
  if (failure.token !== undefined && failure.token.input !== template) {
    return 'a filter failed on an expression it was given at render time';
  }
  const message = typeof failure.message === 'string' ? (failure.message.split('\n')[0] ?? '') : '';
  const position = failure.token?.getPosition();
  const where = position ? `line:${position[0]}, col:${position[1]}` : /line:\d+, col:\d+/.exec(message)?.[0];
  const at = where ? `, ${where}` : '';
  if (failure.name === 'TokenizationError' || failure.name === 'ParseError') return message.slice(0, 300);
  if (failure.name === 'UndefinedVariableError') {
    const written = failure.token?.getText().replace(/\s+/g, ' ').slice(0, 120) ?? '';
    return `undefined variable: ${written}${at}`;
  }
  const limit = /(parse length|template render|memory alloc) limit exceeded/.exec(message)?.[0];
  if (limit) return `${limit}${at}`;
  if (failure.originalError instanceof FilterFailure) return `${failure.originalError.message}${at}`;
  return `a filter or tag failed${at}`;
}

/** A filter's input as text: strings as they are, anything else as its JSON. */
function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  return value === undefined || value === null ? '' : JSON.stringify(value);
}

/** An own property even for "__proto__", which plain assignment would take as the prototype. */
function setKey(data: Record<string, string>, key: string, value: string): void {
  Object.defineProperty(data, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * The templates of one definition, in order, within one budget of time (templateLimits.renderMs
 * from now for all of them): all of them or the first failure.
 */
export function renderEach(
  engine: TemplateEngine,
  templates: Readonly<Record<string, string>>,
  scope: TemplateScope,
): RenderOutcome {
  const deadline = performance.now() + templateLimits.renderMs;
  const rendered: Record<string, string> = {};
  for (const [key, template] of Object.entries(templates)) {
    try {
      setKey(rendered, key, engine.render(key, template, scope, deadline));
    } catch (error) {
      if (!(error instanceof TemplateProblem)) throw error;
      return { ok: false, message: error.message };
    }
  }
  return { ok: true, rendered };
}

/** A renderer on the calling thread: for validate and tests, where nothing else waits on the loop. */
export async function inThreadRenderer(): Promise<TemplateRenderer> {
  const engine = await templateEngine();
  return { render: async (templates, scope) => renderEach(engine, templates, scope) };
}

let loaded: Promise<TemplateEngine> | undefined;

/** The engine, loaded once. */
export function templateEngine(): Promise<TemplateEngine> {
  loaded ??= createEngine();
  return loaded;
}

async function createEngine(): Promise<TemplateEngine> {
  const { Liquid } = await import('liquidjs');
  const noFiles = (): never => {
    throw new Error('templates cannot read files');
  };
  const liquid = new Liquid({
    ownPropertyOnly: true,
    strictFilters: true,
    // A misspelt key fails instead of rendering empty; `{% if data.x %}` may still ask for one
    // that is not always there.
    strictVariables: true,
    lenientIf: true,
    relativeReference: false,
    parseLimit: templateLimits.parse,
    renderLimit: templateLimits.renderMs,
    memoryLimit: templateLimits.memory,
    cache: false,
    fs: {
      exists: async () => false,
      existsSync: () => false,
      readFile: async () => noFiles(),
      readFileSync: noFiles,
      resolve: noFiles,
      sep: '/',
    },
  });
  for (const tag of fileTags) delete (liquid.tags as Record<string, unknown>)[tag];
  // The helpers secrets need, beside LiquidJS's own (base64_encode, base64_decode, json, strip,
  // default, upcase, replace, split, join, ...): short names as in Helm, and YAML. Each counts what
  // it makes against the render's memory limit and checks its time, as LiquidJS's own filters do.
  const filter = (name: string, make: (value: unknown) => string): void =>
    liquid.registerFilter(name, function (this: FilterThis, value: unknown) {
      const input = asText(value);
      if (input.length > templateLimits.output) throw new FilterFailure(`${name}: its input is too large`);
      this.context.renderLimit.check(performance.now());
      const output = make(value);
      this.context.memoryLimit.use(output.length);
      return output;
    });
  filter('b64enc', (value) => Buffer.from(asText(value), 'utf8').toString('base64'));
  filter('b64dec', (value) => {
    const text = asText(value);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0)
      throw new FilterFailure('b64dec: the value is not base64');
    return Buffer.from(text, 'base64').toString('utf8');
  });
  filter('trim', (value) => asText(value).trim());
  filter('toYaml', (value) => stringify(value).trimEnd());
  filter('toJson', (value) => JSON.stringify(value) ?? '');
  return {
    render(key, template, scope, deadline) {
      const remaining = Math.floor(deadline - performance.now());
      if (remaining <= 0)
        throw new TemplateProblem(
          key,
          `the templates of this definition took more than ${templateLimits.renderMs} ms`,
        );
      let output: string;
      try {
        output = String(
          liquid.parseAndRenderSync(template, { data: scope.data }, { renderLimit: remaining }),
        );
      } catch (error) {
        throw new TemplateProblem(key, reason(error, template));
      }
      if (output.length > templateLimits.output)
        throw new TemplateProblem(key, `renders more than ${templateLimits.output} characters`);
      return output;
    },
    check(key, template) {
      try {
        liquid.parse(template);
        return undefined;
      } catch (error) {
        return new TemplateProblem(key, reason(error, template));
      }
    },
  };
}
