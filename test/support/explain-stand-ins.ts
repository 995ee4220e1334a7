// `secrets-manager explain` run in-process against stand-ins: an apiserver (apiserver-stand-in.ts)
// and a Vault on loopback, each answering from a table the test writes. The command line is parsed
// as main.ts parses it, so a test passes the flags a user would.

import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { TestContext } from 'node:test';
import { buildProgram, type ExplainRequest } from '../../src/cli.ts';
import { runExplain } from '../../src/explain/command.ts';
import { apiserverStandIn, json, type Seen, type StandIn } from './apiserver-stand-in.ts';
import { noVaultEnv, withEnv } from './cli-config.ts';

export interface Answer {
  readonly status: number;
  readonly body?: unknown;
}

/** A table of answers by "METHOD /path" (the query left off); anything else is a 404. */
export type Answers = Readonly<Record<string, Answer>>;

function answerFrom(answers: () => Answers) {
  return (seen: { method: string; url: string }, res: ServerResponse): void => {
    const path = seen.url.split('?')[0] ?? '';
    const answer = answers()[`${seen.method} ${path}`];
    if (!answer) return json(res, 404, { kind: 'Status', reason: 'NotFound', message: 'not found' });
    if (answer.body === undefined) {
      res.writeHead(answer.status);
      res.end();
      return;
    }
    json(res, answer.status, answer.body);
  };
}

export interface VaultStandIn {
  readonly address: string;
  readonly seen: Seen[];
}

export async function vaultStandIn(t: TestContext, answers: () => Answers): Promise<VaultStandIn> {
  const seen: Seen[] = [];
  const answer = answerFrom(answers);
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const request = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headersDistinct as Record<string, string[]>,
        body,
      };
      seen.push(request);
      answer(request, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

export async function kubeStandIn(t: TestContext, answers: () => Answers): Promise<StandIn> {
  return apiserverStandIn(t, answerFrom(answers));
}

export const definitionsPath = '/apis/secrets-manager.tuenti.io/v1alpha1/namespaces';

/** Vault's answers for a KV v2 mount at secret/ holding `data` at secret/<name>. */
export function kvAnswers(name: string, data: Record<string, unknown>): Answers {
  return {
    'GET /v1/sys/health': { status: 200, body: {} },
    [`GET /v1/sys/internal/ui/mounts/secret/${name}`]: {
      status: 200,
      body: { data: { path: 'secret/', type: 'kv', options: { version: '2' } } },
    },
    [`GET /v1/secret/data/${name}`]: { status: 200, body: { data: { data, metadata: { version: 1 } } } },
    'GET /v1/auth/token/lookup-self': { status: 200, body: { data: { ttl: 3600, renewable: true } } },
    'POST /v1/auth/token/revoke-self': { status: 204 },
  };
}

export interface Explained {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `secrets-manager ARGS` (ARGS holds explain), the Vault and Azure variables cleared; `stdin` is its standard input. */
export async function explainIn(
  args: readonly string[],
  env: Record<string, string> = {},
  stdin = '',
): Promise<Explained> {
  let stdout = '';
  let stderr = '';
  let code: number | undefined;
  const program = buildProgram({
    run: async () => undefined,
    validate: async () => 0,
    explain: async (request: ExplainRequest, settings) => {
      code = await runExplain(request, settings, {
        stdout: { write: async (text) => void (stdout += text) },
        stderr: { write: async (text) => void (stderr += text) },
        stdin: Readable.from([stdin]),
      });
      return code;
    },
    version: () => '0.0.0',
  });
  await withEnv({ ...noVaultEnv, ...env }, () => program.parseAsync(['node', 'secrets-manager', ...args]));
  process.exitCode = undefined;
  if (code === undefined) throw new Error('explain was not run');
  return { code, stdout, stderr };
}
