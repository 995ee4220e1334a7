// Certificates for unit tests, made with the openssl command line (node:crypto reads X.509 but
// cannot make it): a root CA, an intermediate under it, and leaves under the intermediate with
// the names asked for, in a directory of its own until dispose().

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LeafRequest {
  readonly commonName: string;
  readonly dns?: readonly string[];
  readonly ips?: readonly string[];
  readonly emails?: readonly string[];
  readonly days?: number;
}

export interface TestPki {
  readonly rootPem: string;
  readonly intermediatePem: string;
  /** A leaf signed by the intermediate, and its key. */
  leaf(request: LeafRequest): { readonly certificatePem: string; readonly keyPem: string };
  /** A key that belongs to no certificate. */
  readonly strayKeyPem: string;
  /** Removes the working directory. */
  dispose(): void;
}

function openssl(dir: string, args: readonly string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function key(dir: string, name: string): string {
  openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', name]);
  return readFileSync(join(dir, name), 'utf8');
}

/** Makes a root and an intermediate, in a directory of their own until dispose(). */
export function testPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'sm-pki-'));
  try {
    key(dir, 'root.key');
    openssl(dir, [
      'req',
      '-x509',
      '-new',
      '-key',
      'root.key',
      '-subj',
      '/CN=Test Root',
      '-days',
      '30',
      '-out',
      'root.crt',
    ]);
    key(dir, 'int.key');
    openssl(dir, ['req', '-new', '-key', 'int.key', '-subj', '/CN=Test Intermediate', '-out', 'int.csr']);
    writeFileSync(
      join(dir, 'int.ext'),
      'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n',
    );
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      'int.csr',
      '-CA',
      'root.crt',
      '-CAkey',
      'root.key',
      '-CAcreateserial',
      '-days',
      '20',
      '-extfile',
      'int.ext',
      '-out',
      'int.crt',
    ]);
    let leaves = 0;
    const pki: TestPki = {
      rootPem: readFileSync(join(dir, 'root.crt'), 'utf8'),
      intermediatePem: readFileSync(join(dir, 'int.crt'), 'utf8'),
      strayKeyPem: key(dir, 'stray.key'),
      leaf(request) {
        leaves += 1;
        const name = `leaf${leaves}`;
        const keyPem = key(dir, `${name}.key`);
        openssl(dir, [
          'req',
          '-new',
          '-key',
          `${name}.key`,
          '-subj',
          `/CN=${request.commonName}`,
          '-out',
          `${name}.csr`,
        ]);
        const sans = [
          ...(request.dns ?? []).map((d) => `DNS:${d}`),
          ...(request.ips ?? []).map((ip) => `IP:${ip}`),
          ...(request.emails ?? []).map((email) => `email:${email}`),
        ];
        writeFileSync(
          join(dir, `${name}.ext`),
          sans.length > 0 ? `subjectAltName=${sans.join(',')}\n` : '\n',
        );
        openssl(dir, [
          'x509',
          '-req',
          '-in',
          `${name}.csr`,
          '-CA',
          'int.crt',
          '-CAkey',
          'int.key',
          '-CAcreateserial',
          '-days',
          String(request.days ?? 3),
          '-extfile',
          `${name}.ext`,
          '-out',
          `${name}.crt`,
        ]);
        return { certificatePem: readFileSync(join(dir, `${name}.crt`), 'utf8'), keyPem };
      },
      dispose: () => rmSync(dir, { recursive: true, force: true }),
    };
    return pki;
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
