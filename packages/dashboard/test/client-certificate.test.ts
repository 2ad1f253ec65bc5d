// @vitest-environment happy-dom
import { screen, within } from '@testing-library/preact';
import { describe, expect, it } from 'vitest';
import { CSRF, INTEGRATION, NOW, PROVIDERS, byTestId, click, mount, statusText, submit, type } from './harness.ts';
import type { Handler, Reply } from './harness.ts';

const DAY = 86_400_000;
const ADP = {
  name: 'adp-workforce-now',
  display_name: 'ADP Workforce Now',
  auth_mode: 'OAUTH2_CC',
  categories: ['hr'],
  docs: 'https://developers.adp.com',
  client_certificate: true,
  host_inputs: [],
};
const CERT_PEM = '-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----';
const KEY_PEM = '-----BEGIN PRIVATE KEY-----\nMIIEvSECRET-KEY-MATERIAL\n-----END PRIVATE KEY-----';

const summary = (notAfter: number, over: Record<string, string> = {}) => ({
  subject: 'CN=acme-partner-app, O=Acme',
  issuer: 'CN=ADP Partner CA, O=ADP',
  not_before: new Date(NOW - 300 * DAY).toISOString(),
  not_after: new Date(notAfter).toISOString(),
  fingerprint256: 'AB:CD:EF:01:23:45',
  ...over,
});

const stored = (cert: unknown) => ({ ...INTEGRATION, unique_key: 'adp', provider: 'adp-workforce-now', display_name: 'ADP', client_certificate: cert });

/** The ADP integration holding `cert` (a summary, or null), and a PATCH that answers as the server does (`answer`). */
function adpRoutes(cert: unknown, answer?: Handler): Record<string, Handler> {
  return {
    'GET /providers/:name': (_r, p) => [200, { data: p.name === 'adp-workforce-now' ? ADP : PROVIDERS.find((t) => t.name === p.name) }],
    'GET /integrations/:key': () => [200, { data: { ...stored(cert), credentials: { type: 'OAUTH2', client_id: 'c', client_secret: 'S', scopes: '' } } }],
    'PATCH /integrations/:key': answer ?? ((req) => [200, { data: stored((req.body as { client_certificate: unknown }).client_certificate === null ? null : summary(NOW + 365 * DAY, { fingerprint256: '99:88:77' })) }]),
  };
}

const pem = (field: 'certificate' | 'private_key') => byTestId(`pem-${field}`) as HTMLTextAreaElement;
const card = () => byTestId('client-certificate');

describe('the client certificate card of an integration whose template requires mutual TLS', () => {
  it('shows the stored certificate: subject, issuer, validity and SHA-256 fingerprint, without a warning far from expiry', async () => {
    // Only the summary's fields are copied out of the answer: a key in it, were one ever sent, is never rendered.
    await mount('/dashboard/integrations/adp', adpRoutes({ ...summary(NOW + 200 * DAY), private_key: KEY_PEM }));
    expect(document.body.innerHTML).not.toContain('SECRET-KEY-MATERIAL');
    expect(within(card()).getByRole('heading', { name: 'Client certificate (mutual TLS)' })).toBeTruthy();
    const text = card().textContent!;
    expect(text).toContain('CN=acme-partner-app, O=Acme');
    expect(text).toContain('CN=ADP Partner CA, O=ADP');
    expect(text).toContain('AB:CD:EF:01:23:45');
    expect(text).toContain('(in 200 days)');
    expect(card().querySelector(`time[datetime="${new Date(NOW + 200 * DAY).toISOString()}"]`)).toBeTruthy();
    expect(screen.queryByTestId('certificate-expiry')).toBeNull();
    expect(screen.queryByTestId('certificate-none')).toBeNull();
    // The key field is write-only: empty, and never offered for autofill.
    expect(pem('private_key').value).toBe('');
    expect(pem('private_key').getAttribute('autocomplete')).toBe('off');
    expect(byTestId('save-certificate').textContent).toBe('Replace certificate');
  });

  it('warns when the certificate expires within 30 days', async () => {
    await mount('/dashboard/integrations/adp', adpRoutes(summary(NOW + 10 * DAY)));
    expect(byTestId('certificate-expiry').textContent).toMatch(/^This certificate expires in 10 days .*ask the provider to sign a new one/);
  });

  it('says when the certificate has expired', async () => {
    await mount('/dashboard/integrations/adp', adpRoutes(summary(NOW - 2 * DAY)));
    expect(byTestId('certificate-expiry').textContent).toMatch(/^This certificate expired on .*refuses every request/);
  });

  it('says none is set and that connections are refused until it is, with no Remove action', async () => {
    await mount('/dashboard/integrations/adp', adpRoutes(null));
    expect(byTestId('certificate-none').textContent).toMatch(/connections of this integration are refused until it is/);
    expect(screen.queryByTestId('remove-certificate')).toBeNull();
    expect(byTestId('save-certificate').textContent).toBe('Save certificate');
  });

  it('sets it: both PEMs in the PATCH, then the new summary shows and both fields are emptied', async () => {
    const t = await mount('/dashboard/integrations/adp', adpRoutes(null));
    await type(pem('certificate'), CERT_PEM);
    await type(pem('private_key'), KEY_PEM);
    await submit(byTestId('certificate-form'));
    const patch = t.requests.find((r) => r.method === 'PATCH')!;
    expect(patch.path).toBe('/integrations/adp');
    expect(patch.headers['X-Keyway-CSRF']).toBe(CSRF);
    expect(patch.body).toEqual({ client_certificate: { certificate: CERT_PEM, private_key: KEY_PEM } });
    expect(statusText()).toBe('Client certificate saved.');
    expect(card().textContent).toContain('99:88:77');
    expect(screen.queryByTestId('certificate-none')).toBeNull();
    expect(pem('private_key').value).toBe('');
    expect(pem('certificate').value).toBe('');
    expect(document.body.innerHTML).not.toContain('SECRET-KEY-MATERIAL');
  });

  it('asks for both PEMs before sending anything', async () => {
    const t = await mount('/dashboard/integrations/adp', adpRoutes(null));
    await type(pem('certificate'), CERT_PEM);
    await submit(byTestId('certificate-form'));
    expect(t.requests.some((r) => r.method === 'PATCH')).toBe(false);
    expect(within(card()).getByText("Paste the certificate's private key (PEM).")).toBeTruthy();
  });

  it("shows the server's refusal, keeps the certificate typed and drops the key", async () => {
    const message = 'client_certificate.private_key does not match the certificate (the first one of the chain)';
    const refuse: Handler = () => [400, { error: { code: 'invalid_client_certificate', message } }] as Reply;
    const t = await mount('/dashboard/integrations/adp', adpRoutes(summary(NOW + 200 * DAY), refuse));
    await type(pem('certificate'), CERT_PEM);
    await type(pem('private_key'), KEY_PEM);
    await submit(byTestId('certificate-form'));
    expect(t.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);
    expect(byTestId('certificate-error').textContent).toBe(message);
    expect(pem('certificate').value).toBe(CERT_PEM);
    expect(pem('private_key').value).toBe('');
    expect(document.body.innerHTML).not.toContain('SECRET-KEY-MATERIAL');
    // The stored certificate still shows.
    expect(card().textContent).toContain('AB:CD:EF:01:23:45');
  });

  it('removes it behind a confirmation (PATCH null), then says none is set', async () => {
    const t = await mount('/dashboard/integrations/adp', adpRoutes(summary(NOW + 200 * DAY)));
    await click(byTestId('remove-certificate'));
    expect(within(byTestId('dialog')).getByRole('heading', { name: 'Remove the client certificate?' })).toBeTruthy();
    await click(byTestId('cancel'));
    expect(t.requests.some((r) => r.method === 'PATCH')).toBe(false);
    await click(byTestId('remove-certificate'));
    await click(byTestId('confirm'));
    expect(t.requests.find((r) => r.method === 'PATCH')!.body).toEqual({ client_certificate: null });
    expect(screen.queryByTestId('dialog')).toBeNull();
    expect(statusText()).toBe('Client certificate removed.');
    expect(byTestId('certificate-none')).toBeTruthy();
    expect(screen.queryByTestId('remove-certificate')).toBeNull();
  });

  it('has no certificate card for a template without client_certificate', async () => {
    await mount('/dashboard/integrations/github-prod');
    expect(screen.getByLabelText('Client ID')).toBeTruthy(); // the page has loaded
    expect(screen.queryByTestId('client-certificate')).toBeNull();
  });
});

describe('the create form of a template that requires mutual TLS', () => {
  async function open(name: string) {
    const t = await mount(`/dashboard/integrations/new?provider=${name}`, {
      'GET /providers': () => [200, { data: [...PROVIDERS, ADP] }],
      'POST /integrations': (req) => [200, { data: { ...stored(null), ...(req.body as object), client_certificate: null } }],
    });
    await type(screen.getByLabelText('Client ID'), 'partner-client');
    await type(screen.getByLabelText('Client secret'), 'partner-secret');
    return t;
  }
  const posted = (t: Awaited<ReturnType<typeof open>>) => t.requests.filter((r) => r.method === 'POST' && r.path === '/integrations').map((r) => r.body as Record<string, unknown>);

  it('sends the certificate and key when given', async () => {
    const t = await open('adp-workforce-now');
    expect(within(byTestId('create-certificate')).getByText('Client certificate (mutual TLS), optional')).toBeTruthy();
    await type(pem('certificate'), `${CERT_PEM}\n`);
    await type(pem('private_key'), KEY_PEM);
    await submit(byTestId('create-form'));
    expect(posted(t)).toHaveLength(1);
    expect(posted(t)[0]!.client_certificate).toEqual({ certificate: CERT_PEM, private_key: KEY_PEM });
    expect(t.nav.current().pathname).toBe('/dashboard/integrations/adp-workforce-now');
  });

  it('creates without one when both fields are left empty', async () => {
    const t = await open('adp-workforce-now');
    await submit(byTestId('create-form'));
    expect(posted(t)).toHaveLength(1);
    expect(posted(t)[0]).not.toHaveProperty('client_certificate');
  });

  it('refuses half a pair before sending, and drops the key after a refused request', async () => {
    const t = await open('adp-workforce-now');
    await type(pem('private_key'), KEY_PEM);
    await submit(byTestId('create-form'));
    expect(posted(t)).toHaveLength(0);
    expect(screen.getByText('Paste the certificate chain (PEM), or leave both fields empty.')).toBeTruthy();
    t.route('POST /integrations', () => [400, { error: { code: 'invalid_client_certificate', message: 'client_certificate.certificate expired on 2029-01-01T00:00:00.000Z; ask the provider to sign a new one' } }]);
    await type(pem('certificate'), CERT_PEM);
    await submit(byTestId('create-form'));
    expect(posted(t)).toHaveLength(1);
    expect(byTestId('form-error').textContent).toMatch(/^client_certificate.certificate expired on/);
    expect(pem('private_key').value).toBe('');
    expect(pem('certificate').value).toBe(CERT_PEM);
  });

  it('has no certificate fields for a template without client_certificate', async () => {
    await open('auth0-cc');
    expect(screen.getByLabelText('Client ID')).toBeTruthy();
    expect(screen.queryByTestId('create-certificate')).toBeNull();
    expect(screen.queryByLabelText('Private key (PEM)')).toBeNull();
  });
});
