// The KubeConfig every Kubernetes client of the operator uses. @kubernetes/client-node 2.x builds
// a new undici Agent for every request (KubeConfig.applySecurityAuthentication calls its private
// createDispatcher each time), so every request opened a new TLS connection, with a full handshake
// and a fresh TLS context. At 1,000 definitions that was most of the operator's CPU time and
// hundreds of MiB of native memory (see the issue 9 notes). Here the dispatcher is made once per
// set of connection options and reused, so requests share a keep-alive pool.

import { KubeConfig } from '@kubernetes/client-node';

type MakeDispatcher = (cluster: unknown, agentOptions: unknown) => unknown;

/** The options as a string; a CA or key read into a Buffer goes in as base64, not as a byte array. */
function optionsKey(options: unknown): string {
  return JSON.stringify(options, function (this: Record<string, unknown>, key: string, value: unknown) {
    const raw = this[key];
    return Buffer.isBuffer(raw) ? raw.toString('base64') : value;
  });
}

export class PooledKubeConfig extends KubeConfig {
  readonly #dispatchers = new Map<string, unknown>();

  constructor() {
    super();
    const self = this as unknown as { createDispatcher?: MakeDispatcher };
    const make = self.createDispatcher;
    if (typeof make !== 'function') {
      throw new Error(
        '@kubernetes/client-node has no createDispatcher: the connection pooling needs updating',
      );
    }
    self.createDispatcher = (cluster, agentOptions) => {
      // Same cluster and TLS identity, same dispatcher; new certificates or CA, a new one.
      const key = optionsKey(this.createDispatcherOptions(cluster as never, agentOptions as never));
      let dispatcher = this.#dispatchers.get(key);
      if (dispatcher === undefined) {
        dispatcher = make.call(this, cluster, agentOptions);
        this.#dispatchers.set(key, dispatcher);
      }
      return dispatcher;
    };
  }

  /** How many dispatchers (connection pools) exist: one per cluster and TLS identity. */
  get dispatchers(): number {
    return this.#dispatchers.size;
  }
}
