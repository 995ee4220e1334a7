// PKI certificates, as the functional core sees them: the Secret data a PKI engine's answer makes
// (tls.crt, tls.key, ca.crt), the facts of the certificate a Secret holds (serial, validity,
// whether it is the one the spec asks for), and when the next one is due. No I/O.

import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { isIP, isIPv4 } from 'node:net';
import type { PkiSpec } from '../api/types.ts';
import type { SecretData } from '../providers/provider.ts';

/** What the operator needs of a certificate: nothing secret. */
export interface CertificateFacts {
  /** Colon-separated lowercase hex, as Vault writes it. */
  readonly serialNumber: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

const pemBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function toBase64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

function pemText(value: unknown): string | undefined {
  return typeof value === 'string' && value.includes('-----BEGIN') ? value.trim() : undefined;
}

function selfSigned(pem: string): boolean {
  try {
    const certificate = new X509Certificate(pem);
    return certificate.checkIssued(certificate);
  } catch {
    return false;
  }
}

/**
 * The Secret data (base64) of a PKI engine's issue answer: tls.crt is the leaf and then the
 * chain up to, not including, the root; tls.key the private key; ca.crt the root (the last of the
 * chain, or the issuing CA). A string naming what is missing when the answer is not a certificate.
 */
export function certificateData(answer: SecretData): Record<string, string> | string {
  const leaf = pemText(answer['certificate']);
  const key = pemText(answer['private_key']);
  if (!leaf || !key) return "Vault's answer holds no certificate and private key";
  const chain = Array.isArray(answer['ca_chain'])
    ? answer['ca_chain'].map(pemText).filter((pem): pem is string => pem !== undefined)
    : [];
  const issuing = pemText(answer['issuing_ca']);
  const root = chain.at(-1) ?? issuing;
  if (!root) return "Vault's answer holds no issuing CA";
  const intermediates = chain.filter((pem) => pem !== leaf && !selfSigned(pem));
  return {
    'tls.crt': toBase64(`${[leaf, ...intermediates].join('\n')}\n`),
    'tls.key': toBase64(`${key}\n`),
    'ca.crt': toBase64(`${root}\n`),
  };
}

/** 3A5F01 → 3a:5f:01 */
function vaultSerial(hex: string): string {
  const even = hex.length % 2 === 1 ? `0${hex}` : hex;
  return (even.toLowerCase().match(/../g) ?? []).join(':');
}

function sanEntries(certificate: X509Certificate, prefix: 'DNS:' | 'email:' | 'IP Address:'): string[] {
  return (certificate.subjectAltName ?? '')
    .split(', ')
    .filter((entry) => entry.startsWith(prefix))
    .map((entry) => entry.slice(prefix.length).toLowerCase());
}

/** An IP address in one spelling (IPv6 compressed, lowercase), as the certificate shows it. */
function canonicalIp(ip: string): string {
  if (!isIP(ip)) return ip.toLowerCase();
  if (isIPv4(ip)) return ip;
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip.toLowerCase();
  }
}

/**
 * The facts of the certificate in a Secret's data (base64), or why it cannot be kept: missing,
 * unparsable, not matching its key, or not the names the spec asks for.
 */
export function certificateFacts(
  data: Readonly<Record<string, string>>,
  spec: PkiSpec,
): CertificateFacts | string {
  const crt = data['tls.crt'];
  const key = data['tls.key'];
  if (crt === undefined || key === undefined) return 'the Secret has no tls.crt and tls.key';
  const leafPem = Buffer.from(crt, 'base64').toString('utf8').match(pemBlock)?.[0];
  if (!leafPem) return 'tls.crt holds no certificate';
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(leafPem);
  } catch {
    return 'tls.crt does not parse as a certificate';
  }
  try {
    if (!certificate.checkPrivateKey(createPrivateKey(Buffer.from(key, 'base64').toString('utf8'))))
      return 'tls.key is not the key of tls.crt';
  } catch {
    return 'tls.key does not parse as a private key';
  }
  const commonName = /(?:^|\n)CN=([^\n]*)/.exec(certificate.subject)?.[1];
  if (commonName !== spec.commonName) return 'the certificate is for another common name';
  // altNames may be DNS names or email addresses, as Vault takes them.
  const names = new Set([...sanEntries(certificate, 'DNS:'), ...sanEntries(certificate, 'email:')]);
  if (spec.altNames.some((name) => !names.has(name.toLowerCase())))
    return 'the certificate lacks some of spec.pki.altNames';
  const ips = new Set(sanEntries(certificate, 'IP Address:').map(canonicalIp));
  if (spec.ipSans.some((ip) => !ips.has(canonicalIp(ip))))
    return 'the certificate lacks some of spec.pki.ipSans';
  return {
    serialNumber: vaultSerial(certificate.serialNumber),
    notBefore: certificate.validFromDate.getTime(),
    notAfter: certificate.validToDate.getTime(),
  };
}

/**
 * When the next certificate is due: `renewBefore` ahead of notAfter (a third of the lifetime by
 * default, at most half of it, so a certificate shorter than asked is not due the moment it is
 * issued), brought forward by up to a tenth of that (at most an hour) by a fraction derived from
 * the serial, so certificates issued together are not all renewed together, and a restart
 * computes the same time again.
 */
export function certificateDueAt(facts: CertificateFacts, renewBeforeMs: number | undefined): number {
  const lifetime = Math.max(0, facts.notAfter - facts.notBefore);
  const before = Math.min(renewBeforeMs ?? lifetime / 3, lifetime / 2);
  const fraction = createHash('sha256').update(facts.serialNumber).digest().readUInt32BE(0) / 2 ** 32;
  const spread = Math.min(before / 10, 3_600_000) * fraction;
  return Math.round(facts.notAfter - before - spread);
}
