// The listener for Vault's socket audit device (--vault.audit-listen): Vault connects and writes
// one JSON entry per line. Each completed change of a path some definition reads makes that path
// be read again soon (through the poller, so the rate limit, the breaker and the sharing apply);
// polling goes on, so nothing is lost while the stream is down. Safe to expose: anyone who
// reaches the port can at most cause re-reads of paths already polled (at most one per path per
// second); lines are bounded, entries that do not parse are counted and dropped, and the listener
// never pushes back on Vault: it reads as fast as entries come and drops what it cannot use. The
// stream counts as connected only while a connection has delivered an entry that parses: a
// stranger who connects and sends nothing (or garbage) does not make polling wait. No part of an
// entry is logged.

import { createServer, type Server, type Socket } from 'node:net';
import { changedSecrets, parseAuditLine } from './audit-entry.ts';

export type AuditDrop = 'unparsable' | 'too_long' | 'too_many_connections' | 'other_namespace';

export interface AuditStreamObserver {
  received(): void;
  /** A change of a path some definition reads: `reads` new reads were asked for. */
  matched(reads: number): void;
  dropped(why: AuditDrop): void;
  /** Whether Vault's stream is up now: a connection that delivered an entry that parses. */
  connected(up: boolean): void;
}

export interface AuditStreamOptions {
  readonly host: string | undefined;
  readonly port: number;
  /** The Vault namespace the operator reads in (--vault.namespace); "" for the root. */
  readonly namespace: string;
  /** A changed secret (as the poller spells it): how many polled sources it is, and how many reads that asks for. */
  readonly changed: (secret: string) => { readonly sources: number; readonly reads: number };
  readonly observer: AuditStreamObserver;
  readonly logger: {
    info(message: string, fields?: Record<string, unknown>): void;
    warn(message: string, fields?: Record<string, unknown>): void;
  };
}

/**
 * The longest entry kept. An entry holds HMACs of values, not the values, so even a secret with
 * many keys is far shorter; a longer line is dropped, and its change waits for polling.
 */
export const maxAuditLineBytes = 256 * 1024;
/** What each piece of a line held across reads costs beyond its bytes: tiny pieces count for more. */
const pieceOverheadBytes = 256;
/** Vault keeps one connection per audit device and node. */
const maxConnections = 8;
/** A connection silent this long is closed (Vault opens a new one at its next entry). */
const idleMs = 15 * 60 * 1000;

function namespacePath(namespace: string): string {
  const trimmed = namespace.replace(/^\/+|\/+$/g, '');
  return trimmed === '' || trimmed === 'root' ? '' : `${trimmed}/`;
}

interface Connection {
  readonly socket: Socket;
  /** Whether it delivered an entry that parses: then it is Vault's stream. */
  valid: boolean;
}

export class AuditStream {
  readonly #options: AuditStreamOptions;
  readonly #server: Server;
  readonly #connections = new Set<Connection>();
  readonly #namespace: string;
  #up = false;
  #stopped = false;

  constructor(options: AuditStreamOptions) {
    this.#options = options;
    this.#namespace = namespacePath(options.namespace);
    this.#server = createServer((socket) => this.#accept(socket));
  }

  /** Listens; resolves once the port is bound (rejects when it cannot be). */
  listen(): Promise<void> {
    const { port, host, logger } = this.#options;
    return new Promise((resolve, reject) => {
      const failed = (error: Error): void =>
        reject(new Error(`--vault.audit-listen: cannot listen on ${host ?? ''}:${port}: ${error.message}`));
      this.#server.once('error', failed);
      this.#server.listen({ host, port }, () => {
        this.#server.off('error', failed);
        // An accept that fails later (too many open files) is logged, never thrown.
        this.#server.on('error', (error) =>
          logger.warn('the audit stream listener failed to accept a connection', { error: error.message }),
        );
        logger.info('listening for the Vault audit stream', { address: `${host ?? ''}:${this.port}` });
        resolve();
      });
    });
  }

  /** The port it listens on (the one asked for, or the one given for :0). */
  get port(): number {
    const address = this.#server.address();
    return typeof address === 'object' && address ? address.port : this.#options.port;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const closed = [...this.#connections].map(
      ({ socket }) =>
        new Promise<void>((resolve) =>
          socket.destroyed ? resolve() : socket.once('close', () => resolve()),
        ),
    );
    for (const { socket } of this.#connections) socket.destroy();
    await Promise.all([...closed, new Promise<void>((resolve) => this.#server.close(() => resolve()))]);
  }

  #accept(socket: Socket): void {
    const { observer } = this.#options;
    if (this.#stopped) {
      socket.destroy();
      return;
    }
    if (this.#connections.size >= maxConnections) {
      // Room for Vault: a connection that never delivered an entry goes first.
      const idle = [...this.#connections].find((c) => !c.valid);
      observer.dropped('too_many_connections');
      if (!idle) {
        socket.destroy();
        return;
      }
      idle.socket.destroy();
      this.#connections.delete(idle);
    }
    const connection: Connection = { socket, valid: false };
    this.#connections.add(connection);
    socket.setKeepAlive(true, 60_000);
    socket.setTimeout(idleMs, () => socket.destroy());
    let pending: Buffer[] = [];
    let pendingCost = 0;
    let discarding = false;
    socket.on('data', (chunk: Buffer) => {
      let start = 0;
      for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, start)) {
        const piece = chunk.subarray(start, newline);
        start = newline + 1;
        if (discarding || pendingCost + piece.length > maxAuditLineBytes) {
          if (!discarding) observer.dropped('too_long');
          discarding = false;
        } else {
          this.#line(
            connection,
            pending.length === 0
              ? piece.toString('utf8')
              : Buffer.concat([...pending, piece]).toString('utf8'),
          );
        }
        pending = [];
        pendingCost = 0;
      }
      const rest = chunk.subarray(start);
      if (discarding || rest.length === 0) return;
      if (pendingCost + rest.length + pieceOverheadBytes > maxAuditLineBytes) {
        observer.dropped('too_long');
        discarding = true;
        pending = [];
        pendingCost = 0;
        return;
      }
      // A copy: the chunk's memory is not kept alive by a small piece of it.
      pending.push(Buffer.from(rest));
      pendingCost += rest.length + pieceOverheadBytes;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      // A line cut off by the close is no entry.
      if (pending.length > 0 && !this.#stopped) observer.dropped('unparsable');
      this.#connections.delete(connection);
      this.#update();
    });
  }

  #line(connection: Connection, line: string): void {
    if (line.trim() === '' || this.#stopped) return;
    const { observer, changed } = this.#options;
    observer.received();
    const entry = parseAuditLine(line);
    if (entry.kind === 'unparsable') {
      observer.dropped('unparsable');
      return;
    }
    if (!connection.valid) {
      connection.valid = true;
      this.#update();
    }
    if (entry.kind !== 'change') return;
    if (namespacePath(entry.namespace) !== this.#namespace) {
      observer.dropped('other_namespace');
      return;
    }
    let sources = 0;
    let reads = 0;
    for (const secret of changedSecrets(entry.path)) {
      const found = changed(secret);
      sources += found.sources;
      reads += found.reads;
    }
    if (sources > 0) observer.matched(reads);
  }

  /** Whether the stream is up: some connection delivered an entry that parses. */
  #update(): void {
    if (this.#stopped) return;
    const up = [...this.#connections].some((c) => c.valid);
    if (up === this.#up) return;
    this.#up = up;
    this.#options.observer.connected(up);
    if (up)
      this.#options.logger.info(
        'the Vault audit stream is connected: changes of polled paths are read at once',
      );
    else
      this.#options.logger.warn('the Vault audit stream is gone: changes wait for polling until it is back');
  }
}
