// Templates that build Secret keys from the values a definition fetched (spec.template.data), with
// LiquidJS: a template language made for templates written by untrusted users. It runs no code
// of theirs (templates are interpreted, never compiled to JavaScript), reads only the object's own
// properties (no prototype, no constructor), and here it has no file system (include, render and
// layout are gone), no environment and no network. Each template is bounded: its length when
// parsed, the time and memory of its rendering, and the size of what it renders.
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
  render(key: string, template: string, scope: TemplateScope): string;
  /** Why `template` does not parse, or undefined: for validate, without rendering. */
  check(key: string, template: string): TemplateProblem | undefined;
}

/** Bounds of one template. */
export const templateLimits = {
  /** Characters of a template. */
  parse: 64 * 1024,
  /** Milliseconds of rendering. */
  renderMs: 100,
  /** Bytes the rendering may allocate (strings, loops). */
  memory: 4 * 1024 * 1024,
  /** Characters of what one template renders. */
  output: 512 * 1024,
} as const;

/** Tags that read files: a template has no file system. */
const fileTags = ['include', 'render', 'layout', 'block'];

/**
 * The first line of a LiquidJS message ("undefined variable: data.x, line:2, col:4"), without its
 * code frame; when it holds any value of `scope` (a filter that quotes its input), only where it
 * failed: a message never carries a value.
 */
function reason(error: unknown, scope?: TemplateScope): string {
  const message =
    (error instanceof Error ? error.message : String(error)).split('\n')[0]?.slice(0, 300) ?? '';
  const values = Object.values(scope?.data ?? {}).filter((v) => v !== '');
  if (!values.some((value) => message.includes(value))) return message || 'failed';
  const where = /line:\d+, col:\d+/.exec(message)?.[0];
  return `a filter failed on a value${where ? `, ${where}` : ''}`;
}

/** A filter's input as text: strings as they are, anything else as its JSON. */
function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  return value === undefined || value === null ? '' : JSON.stringify(value);
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
  // default, upcase, replace, split, join, ...): short names as in Helm, and YAML.
  liquid.registerFilter('b64enc', (value: unknown) => Buffer.from(asText(value), 'utf8').toString('base64'));
  liquid.registerFilter('b64dec', (value: unknown) => {
    const text = asText(value);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0)
      throw new Error('b64dec: the value is not base64');
    return Buffer.from(text, 'base64').toString('utf8');
  });
  liquid.registerFilter('trim', (value: unknown) => asText(value).trim());
  liquid.registerFilter('toYaml', (value: unknown) => stringify(value).trimEnd());
  liquid.registerFilter('toJson', (value: unknown) => JSON.stringify(value));
  return {
    render(key, template, scope) {
      let output: string;
      try {
        output = String(liquid.parseAndRenderSync(template, { data: scope.data }));
      } catch (error) {
        throw new TemplateProblem(key, reason(error, scope));
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
        return new TemplateProblem(key, reason(error));
      }
    },
  };
}
