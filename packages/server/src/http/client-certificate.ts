/**
 * The app's TLS client certificate, for providers that require mutual TLS (ADP): a PEM chain (the
 * leaf first) and the PEM private key that matches the leaf. Checked once, when the operator sets
 * it, so a bad pair fails with a clear 400 at `POST /integrations` rather than as a handshake error
 * at the first connection; the key is never returned (only what the summary shows).
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { KeywayError } from '../errors.ts';
import type { ClientCertificate } from '../store/types.ts';

export type { ClientCertificate };

/** What may be shown of a client certificate: never the key. */
export interface ClientCertificateSummary {
  readonly subject: string;
  readonly issuer: string;
  readonly not_before: string;
  readonly not_after: string;
  readonly fingerprint256: string;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g;
/** A chain longer than this, or a larger PEM, is not a client certificate. */
const MAX_CHAIN = 5;
export const MAX_PEM_LENGTH = 32_768;

const invalid = (message: string) => new KeywayError('invalid_client_certificate', message);

/** The leaf of a PEM chain; throws `invalid_client_certificate` when there is none or one does not parse. */
function parseChain(pem: string): X509Certificate[] {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw invalid('client_certificate.certificate must be a PEM certificate (-----BEGIN CERTIFICATE-----)');
  if (blocks.length > MAX_CHAIN) throw invalid(`client_certificate.certificate holds at most ${MAX_CHAIN} certificates (the leaf and its intermediates)`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw invalid(`client_certificate.certificate: certificate ${i + 1} of the chain is not a valid X.509 certificate`);
    }
  });
}

function parseKey(pem: string): KeyObject {
  if (/ENCRYPTED/.test(pem)) throw invalid('client_certificate.private_key is encrypted; give the key without a passphrase (it is sealed at rest)');
  try {
    const key = createPrivateKey({ key: pem, format: 'pem' });
    if (key.type !== 'private') throw new Error('not private');
    return key;
  } catch {
    throw invalid('client_certificate.private_key must be a PEM private key (-----BEGIN PRIVATE KEY-----)');
  }
}

/**
 * Checks a certificate and key given for an integration: both parse, the key is the leaf's, and the
 * leaf is valid now (`now` injected in tests). Returns the summary that may be shown.
 */
export function checkClientCertificate(input: ClientCertificate, now: Date = new Date()): ClientCertificateSummary {
  if (input.certificate.length > MAX_PEM_LENGTH || input.private_key.length > MAX_PEM_LENGTH) throw invalid(`client_certificate: each PEM is at most ${MAX_PEM_LENGTH} characters`);
  const [leaf] = parseChain(input.certificate);
  const key = parseKey(input.private_key);
  if (!leaf!.checkPrivateKey(key)) throw invalid('client_certificate.private_key does not match the certificate (the first one of the chain)');
  const summary = summarize(leaf!);
  if (Date.parse(summary.not_after) <= now.getTime()) throw invalid(`client_certificate.certificate expired on ${summary.not_after}; ask the provider to sign a new one`);
  if (Date.parse(summary.not_before) > now.getTime()) throw invalid(`client_certificate.certificate is not valid before ${summary.not_before}`);
  return summary;
}

/** The public facts of a stored certificate (its leaf), for API answers and the dashboard. */
export function certificateSummary(certificate: string): ClientCertificateSummary {
  return summarize(parseChain(certificate)[0]!);
}

function summarize(leaf: X509Certificate): ClientCertificateSummary {
  return {
    subject: leaf.subject.replace(/\n/g, ', '),
    issuer: leaf.issuer.replace(/\n/g, ', '),
    not_before: new Date(leaf.validFrom).toISOString(),
    not_after: new Date(leaf.validTo).toISOString(),
    fingerprint256: leaf.fingerprint256,
  };
}
