// Test certificates made with openssl: a CA, and certificates it signs for a server (with the
// names it answers to) or for a client (mutual TLS).

import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const openssl = (...args: string[]): Promise<unknown> => promisify(execFile)('openssl', args);

export interface CertificateFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** A self-signed CA in `dir`, as `<name>.pem` and `<name>.key`, valid for two days. */
export async function certificateAuthority(dir: string, name: string): Promise<CertificateFiles> {
  const files = { certFile: join(dir, `${name}.pem`), keyFile: join(dir, `${name}.key`) };
  await openssl(
    ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`],
    ...['-keyout', files.keyFile, '-out', files.certFile],
  );
  return files;
}

/**
 * A certificate `ca` signs for `name`: with `dnsNames` a server's (subjectAltName), without them
 * a client's (extendedKeyUsage clientAuth).
 */
export async function issueCertificate(
  dir: string,
  ca: CertificateFiles,
  name: string,
  dnsNames: readonly string[] = [],
): Promise<CertificateFiles> {
  const files = { certFile: join(dir, `${name}.pem`), keyFile: join(dir, `${name}.key`) };
  const request = join(dir, `${name}.csr`);
  const extensions = join(dir, `${name}.ext`);
  await openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    files.keyFile,
    '-out',
    request,
  );
  await writeFile(
    extensions,
    dnsNames.length > 0
      ? `subjectAltName=${dnsNames.map((dns) => `DNS:${dns}`).join(',')}\n`
      : 'extendedKeyUsage=clientAuth\n',
  );
  await openssl(
    ...['x509', '-req', '-in', request, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial'],
    ...['-days', '2', '-extfile', extensions, '-out', files.certFile],
  );
  return files;
}
