import { KeywayError } from '../errors.ts';
import type { PresentedCertificate } from '../http/outbound.ts';
import type { Integration } from '../store/types.ts';
import { requiresClientCertificate, type ProviderTemplate } from '../templates/schema.ts';

/**
 * The TLS client certificate an integration's requests present (token and API alike), or none when
 * its template does not use mutual TLS. A template that requires one while the integration has none
 * is refused before any request: the provider would only fail the handshake, with a vaguer error.
 */
export function presentedCertificate(integration: Integration, template: ProviderTemplate): PresentedCertificate | undefined {
  if (!requiresClientCertificate(template)) return undefined;
  const cert = integration.client_certificate;
  if (!cert) {
    throw new KeywayError(
      'missing_client_certificate',
      `The template "${template.name}" requires mutual TLS, and the integration "${integration.unique_key}" has no client certificate: set its client_certificate (certificate and private_key, PEM) with PATCH /integrations/${integration.unique_key}`,
    );
  }
  return { owner: integration.unique_key, certificate: cert.certificate, private_key: cert.private_key };
}
