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
//   the plugin), with its stdin closed, KUBERNETES_EXEC_INFO as kubectl sets it, and a deadline
//   that holds (its process group is killed, and the wait ends, even for a plugin that ignores
//   SIGTERM or leaves a child holding its output). A failure is retried no sooner than 5 s later;
//   a 401 drops the credential, as client-go does. What a plugin said goes to the operator log
//   only, never to a status or an Event, which tenants read.
//
// A token with a character a bearer token cannot hold (a control character, a space, a second
// line) is refused without being repeated: an HTTP library's header error would quote it.

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
/** A plugin that failed is not started again sooner than this. */
const execRetryMs = 5_000;

/** Visible ASCII only: what an HTTP header, and so a bearer token, can carry. */
const bearerToken = /^[\x21-\x7e]+$/;

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
      let read: string | undefined;
      try {
        read = readFileSync(path, 'utf8').trim();
      } catch {
        // Being replaced: the last token until the file is back.
      }
      if (read && bearerToken.test(read)) token = read;
      else if (read && !token)
        throw new Error(
          `the token file ${path} holds characters a bearer token cannot (a space, a second line)`,
        );
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

interface Spawned {
  readonly pid?: number;
  readonly stdout?: { destroy(): void } | null;
  readonly stderr?: { destroy(): void } | null;
  once(event: 'exit', listener: () => void): void;
}

export interface ExecAuthOptions {
  /** Told what a failing plugin said (its first line), for the operator log. */
  readonly failed?: (message: string, fields: Record<string, unknown>) => void;
  /** For tests. */
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

export class SingleFlightExecAuth implements Authenticator {
  readonly #exec = new ExecAuth();
  readonly #running = new Map<string, Promise<RequestOptions>>();
  readonly #failures = new Map<string, { readonly error: Error; readonly at: number }>();
  readonly #options: ExecAuthOptions;
  readonly #timeoutMs: number;

  constructor(options: ExecAuthOptions = {}) {
    this.#options = options;
    this.#timeoutMs = options.timeoutMs ?? execTimeoutMs;
    // ExecAuth starts the plugin through this field (its own seam for tests): stdin closed, so a
    // plugin that would ask a person fails instead of waiting; a process group of its own, killed
    // whole at the deadline; and its output closed soon after it exits, since ExecAuth waits for
    // the output to close and a child the plugin left behind could hold it open.
    const seam = this.#exec as unknown as { execFn?: unknown };
    if (typeof seam.execFn !== 'function') {
      throw new Error('@kubernetes/client-node ExecAuth has no execFn: the exec wrapper needs updating');
    }
    const spawn = seam.execFn as (command: string, args: unknown, options: object) => Spawned;
    seam.execFn = (command: string, args: unknown, options: object) => {
      const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      const killGroup = (): void => {
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      };
      const deadline = setTimeout(killGroup, this.#timeoutMs);
      deadline.unref();
      child.once('exit', () => {
        clearTimeout(deadline);
        const close = setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
        }, 1_000);
        close.unref();
      });
      return child;
    };
  }

  isAuthProvider(user: User): boolean {
    return (user.authProvider as { name?: unknown } | undefined)?.name === execProvider;
  }

  /** The apiserver refused `user`'s credential (401): the next request runs the plugin again. */
  forget(user: string): void {
    const cache = (this.#exec as unknown as { tokenCache?: Record<string, unknown> }).tokenCache;
    if (cache) delete cache[user];
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
    const now = this.#options.now ?? Date.now;
    const failure = this.#failures.get(user.name);
    if (failure && now() - failure.at < execRetryMs) throw failure.error;
    const config = (user.authProvider as { config: { spec: ExecSpec; cluster?: unknown } }).config;
    const spec = config.spec;
    const plugin = typeof spec.command === 'string' ? basename(spec.command) : 'exec';
    const named = `the exec credential plugin ${plugin} of kubeconfig user ${user.name}`;
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
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.#exec.applyAuthentication(execUser, applied),
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(
            () => reject(new Error(`it gave no credential within ${this.#timeoutMs} ms`)),
            this.#timeoutMs + 1_000,
          );
        }),
      ]);
      const authorization = (applied.headers as Record<string, string> | undefined)?.['Authorization'];
      if (authorization && !bearerToken.test(authorization.replace(/^Bearer /, ''))) {
        throw new TypeError('its token holds characters a bearer token cannot');
      }
    } catch (error) {
      const said =
        error instanceof SyntaxError
          ? 'it printed no ExecCredential JSON'
          : error instanceof TypeError
            ? error.message.startsWith('its token')
              ? error.message
              : 'its ExecCredential has no status'
            : ((error instanceof Error ? error.message : String(error)).trim().split('\n')[0] ?? '').slice(
                0,
                200,
              ) || 'it failed with no message';
      this.#options.failed?.(`${named} failed`, { said });
      const refused = new Error(`${named} failed; what it said is in the operator log`, { cause: error });
      this.#failures.set(user.name, { error: refused, at: now() });
      throw refused;
    } finally {
      clearTimeout(timer);
    }
    this.#failures.delete(user.name);
    return applied;
  }
}
