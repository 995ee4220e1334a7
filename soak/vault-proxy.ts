// A TCP proxy in front of OpenBao that the replicas talk to, so the soak can make Vault hang: while
// hung it accepts connections and never answers, and holds the ones it had silent too. When it
// heals, the held connections are cut (as a partition that ends) and new ones pass again.

import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export class VaultProxy {
  readonly #target: { host: string; port: number };
  readonly #server: Server;
  readonly #open = new Set<Socket>();
  #hung = false;

  constructor(targetUrl: string) {
    const url = new URL(targetUrl);
    this.#target = { host: url.hostname, port: Number(url.port) };
    this.#server = createServer((client) => this.#accept(client));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  #accept(client: Socket): void {
    this.#open.add(client);
    client.on('close', () => this.#open.delete(client));
    client.on('error', () => client.destroy());
    if (this.#hung) return;
    const upstream = connect(this.#target);
    this.#open.add(upstream);
    upstream.on('close', () => {
      this.#open.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** From now on nothing is answered: new connections are accepted and left silent, open ones stop flowing. */
  hang(): void {
    this.#hung = true;
    for (const socket of this.#open) {
      socket.unpipe();
      socket.pause();
    }
  }

  /** Cuts every connection held while hung; new ones pass again. */
  heal(): void {
    this.#hung = false;
    for (const socket of this.#open) socket.destroy();
  }

  async close(): Promise<void> {
    for (const socket of this.#open) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
