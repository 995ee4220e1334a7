// Two ways of proving who we are that @kubernetes/client-node gets almost right, given to its
// KubeConfig through addAuthenticator (the loader marks the users they serve):
//
// - A bearer token in a file (a kubeconfig user's `tokenFile`, the Pod's service-account token).
//   Bound service-account tokens rotate, so the file is read again every minute, as client-go
//   does; a read that fails (the file is being replaced) keeps the last token. The library reads a
//   kubeconfig `tokenFile` never (it looks for `token-file`), and its in-cluster reader gives up
//   on a missing file and sends the file's trailing newline.
// - An exec credential plugin (EKS, GKE, AKS, kubelogin). The library's ExecAuth runs it and
//   caches the credential until it expires; here it runs it once for all callers at a time
//   (informers starting together, or many requests when a credential expires, would each start
//   the plugin), with its stdin closed and a deadline, with KUBERNETES_EXEC_INFO as kubectl sets
//   it, and with failures reduced to the first line of what the plugin said.

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { RequestOptions } from 'node:https';
import type { KubeConfig, User } from '@kubernetes/client-node';
// Not exported from the package's index; the file is the library's own exec implementation.
import { ExecAuth } from '@kubernetes/client-node/dist/exec_auth.js';

type Authenticator = Parameters<KubeConfig['addAuthenticator']>[0];
/** What an authenticator fills in: the library passes node:https request options. */
type AuthOptions = RequestOptions;

export const tokenFileProvider = 'secrets-manager.tuenti.io/token-file';
export const execProvider = 'secrets-manager.tuenti.io/exec';

/** How often a token file is read again: client-go's minute. */
export const tokenRereadMs = 60_000;

/** An exec plugin that has not answered in this long is stopped, and the request fails. */
export const execTimeoutMs = 30_000;

function setHeader(opts: AuthOptions, name: string, value: string): void {
  const headers = (opts.headers ?? {}) as Record<string, string>;
  headers[name] = value;
  opts.headers = headers;
}

export class TokenFileAuth implements Authenticator {
  readonly #now: () => number;
  readonly #read = new Map<string, { readonly token: string | undefined; readonly at: number }>();

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  isAuthProvider(user: User): boolean {
    return (user.authProvider as { name?: unknown } | undefined)?.name === tokenFileProvider;
  }

  async applyAuthentication(user: User, opts: AuthOptions): Promise<void> {
    const path = (user.authProvider as { config?: { path?: unknown } }).config?.path;
    if (typeof path !== 'string') return;
    const last = this.#read.get(path);
    let token = last?.token;
    if (!last || this.#now() - last.at >= tokenRereadMs) {
      try {
        token = readFileSync(path, 'utf8').trim() || token;
      } catch {
        // Being replaced: the last token until the file is back.
      }
      this.#read.set(path, { token, at: this.#now() });
    }
    if (token) setHeader(opts, 'Authorization', `Bearer ${token}`);
  }
}

/** The exec spec of a kubeconfig user, as the loader keeps it under our provider's config. */
interface ExecSpec {
  readonly command?: unknown;
  readonly apiVersion?: unknown;
  readonly env?: readonly { name: string; value: string }[] | null;
  readonly provideClusterInfo?: unknown;
}

export class SingleFlightExecAuth implements Authenticator {
  readonly #exec = new ExecAuth();
  readonly #running = new Map<string, Promise<RequestOptions>>();

  constructor() {
    // ExecAuth starts the plugin through this field (its own seam for tests): stdin closed, so a
    // plugin that would ask a person fails instead of waiting, and a deadline.
    const seam = this.#exec as unknown as { execFn?: unknown };
    if (typeof seam.execFn !== 'function') {
      throw new Error('@kubernetes/client-node ExecAuth has no execFn: the exec wrapper needs updating');
    }
    const spawn = seam.execFn as (command: string, args: unknown, options: object) => unknown;
    seam.execFn = (command: string, args: unknown, options: object) =>
      spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'], timeout: execTimeoutMs });
  }

  isAuthProvider(user: User): boolean {
    return (user.authProvider as { name?: unknown } | undefined)?.name === execProvider;
  }

  async applyAuthentication(user: User, opts: AuthOptions): Promise<void> {
    let running = this.#running.get(user.name);
    if (!running) {
      running = this.#credential(user).finally(() => this.#running.delete(user.name));
      this.#running.set(user.name, running);
    }
    const applied = await running;
    const authorization = (applied.headers as Record<string, string> | undefined)?.['Authorization'];
    if (authorization) setHeader(opts, 'Authorization', authorization);
    if (applied.cert) opts.cert = applied.cert;
    if (applied.key) opts.key = applied.key;
  }

  async #credential(user: User): Promise<RequestOptions> {
    const config = (user.authProvider as { config: { spec: ExecSpec; cluster?: unknown } }).config;
    const spec = config.spec;
    const info = {
      apiVersion: spec.apiVersion,
      kind: 'ExecCredential',
      spec: { interactive: false, ...(spec.provideClusterInfo === true ? { cluster: config.cluster } : {}) },
    };
    const execUser = {
      ...user,
      authProvider: undefined,
      exec: {
        ...spec,
        env: [...(spec.env ?? []), { name: 'KUBERNETES_EXEC_INFO', value: JSON.stringify(info) }],
      },
    } as unknown as User;
    const applied: RequestOptions = { headers: {} };
    try {
      await this.#exec.applyAuthentication(execUser, applied);
    } catch (error) {
      const plugin = typeof spec.command === 'string' ? basename(spec.command) : 'exec';
      const said =
        error instanceof SyntaxError
          ? 'it printed no ExecCredential JSON'
          : error instanceof TypeError
            ? 'its ExecCredential has no status'
            : ((error instanceof Error ? error.message : String(error)).trim().split('\n')[0] ?? '').slice(
                0,
                200,
              ) || 'it failed with no message';
      throw new Error(
        `the exec credential plugin ${plugin} of kubeconfig user ${user.name} failed: ${said}`,
        {
          cause: error,
        },
      );
    }
    return applied;
  }
}
