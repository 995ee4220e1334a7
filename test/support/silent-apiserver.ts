// An "apiserver" on loopback that takes requests and never answers, as one behind a half-open
// connection would, with the operator's client pointed at it: for unit tests of cancellation.

import type { IncomingMessage } from 'node:http';
import type { TestContext } from 'node:test';
import type { KubeApi, KubeApiOptions } from '../../src/kube/kube-api.ts';
import { apiserverStandIn, clientFor } from './apiserver-stand-in.ts';

/** Starts the server (closed when the test ends); `onRequest` sees each request it swallows. */
export async function silentApiserver(
  t: TestContext,
  onRequest: (request: IncomingMessage) => void,
  options: KubeApiOptions = {},
): Promise<KubeApi> {
  const standIn = await apiserverStandIn(t, (_seen, _res, request) => onRequest(request));
  return clientFor(t, standIn, options);
}
