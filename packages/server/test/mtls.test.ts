import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeywayError } from '../src/errors.ts';
import { createOutboundFetch } from '../src/http/outbound.ts';
import { validateTemplate } from '../src/templates/validate.ts';
import { atRest } from './support/json-db.ts';
import { SECRET_KEY, startKeyway, type TestKeyway } from './support/keyway.ts';

/**
 * Mutual TLS (ADP): a local HTTPS provider on 127.0.0.1 that refuses any TLS client without a
 * certificate signed by the test CA, with a client-credentials token endpoint and an API. Keyway
 * trusts the test CA through the app's test-only `outboundTrustedCa` override.
 */
const fixture = (name: string) => readFileSync(new URL(`./fixtures/mtls/${name}`, import.meta.url), 'utf8');
const CA = fixture('ca.pem');
const CERT = fixture('client.pem');
const KEY = fixture('client.key');
/** The base64 body of the private key: what must never appear in an answer, a log line or the store. */
const KEY_BODY = KEY.split('\n').filter((l) => l && !l.startsWith('-----')).join('');

interface Seen {
  readonly path: string;
  /** The CN of the client certificate the TLS handshake presented. */
  readonly clientCn: string | undefined;
  readonly authorization: string | undefined;
}

let provider: Server;
let origin: string;
const seen: Seen[] = [];
let handshakesRefused = 0;
let handshakes = 0; // completed TLS handshakes
let minted = 0;
let kw: TestKeyway;
const logs: string[] = [];

beforeAll(async () => {
  provider = createServer({ key: fixture('server.key'), cert: fixture('server.pem'), ca: CA, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    seen.push({ path: req.url ?? '', clientCn: [peer.subject?.CN].flat()[0], authorization: req.headers.authorization });
    req.resume();
    req.on('end', () => {
      if (req.url === '/auth/oauth/v2/token' && req.method === 'POST') {
        // ADP's token endpoint: client credentials by HTTP Basic.
        if (req.headers.authorization !== `Basic ${Buffer.from('org-client:org-secret').toString('base64')}`) {
          res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}');
          return;
        }
        minted++;
        // A 1 s lifetime: the token is due for re-minting within a second (no clock to advance in the connection service).
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: `adp-${minted}`, token_type: 'Bearer', expires_in: 1 }));
        return;
      }
      if (req.url?.startsWith('/api/hr/v2/workers')) {
        if (!req.headers.authorization?.startsWith('Bearer adp-')) return void res.writeHead(401).end();
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ workers: [{ associateOID: 'G3ZYY' }] }));
        return;
      }
      res.writeHead(404).end();
    });
  });
  provider.on('tlsClientError', () => handshakesRefused++);
  provider.on('secureConnection', () => handshakes++);
  await new Promise<void>((r) => provider.listen(0, '127.0.0.1', r));
  origin = `https://127.0.0.1:${(provider.address() as { port: number }).port}`;
  const base = { categories: ['hr'], docs: 'https://example.com/docs', auth_mode: 'OAUTH2_CC', token_url: `${origin}/auth/oauth/v2/token`, token_request_auth_method: 'basic' };
  kw = await startKeyway({
    templates: {
      'mtls-cc': { ...base, display_name: 'mTLS provider', client_certificate: true, proxy: { base_url: `${origin}/api` } },
      // The same provider, from a template that does not say it needs a client certificate.
      'plain-cc': { ...base, display_name: 'Same provider, no certificate', proxy: { base_url: `${origin}/api` } },
    },
    logs,
    overrides: { outboundTrustedCa: CA },
  });
});
afterAll(async () => {
  await kw?.close();
  provider?.closeAllConnections();
  await new Promise((r) => provider?.close(r));
});

const json = (body: unknown) => ({ method: 'POST', body: JSON.stringify(body) });
const connect = (key: string, connectionId: string) => kw.api(`/auth/oauth2-cc/${key}`, json({ connection_id: connectionId, client_id: 'org-client', client_secret: 'org-secret' }));
const proxyGet = (key: string, connectionId: string) =>
  fetch(`${kw.url}/proxy/hr/v2/workers`, { headers: { authorization: `Bearer ${SECRET_KEY}`, 'provider-config-key': key, 'connection-id': connectionId } }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

describe('an integration with a client certificate', () => {
  it('takes the certificate and key, shows the certificate, and never the key', async () => {
    const created = await kw.api('/integrations', json({ unique_key: 'adp', provider: 'mtls-cc', client_certificate: { certificate: CERT, private_key: KEY } }));
    expect(created.status).toBe(200);
    expect(created.body.data.client_certificate).toMatchObject({ subject: expect.stringContaining('CN=AcmeMutualSSL'), issuer: 'CN=Keyway Test CA', not_after: expect.stringMatching(/^20\d\d-/) });
    const answers = [
      created,
      await kw.api('/integrations'),
      await kw.api('/integrations/adp'),
      await kw.api('/integrations/adp?include=credentials,webhook'),
      await kw.api('/integrations/adp', { method: 'PATCH', body: JSON.stringify({ display_name: 'ADP' }) }),
    ];
    for (const a of answers) expect(JSON.stringify(a.body)).not.toContain(KEY_BODY.slice(0, 40));
    expect(answers[2]!.body.data.client_certificate.subject).toContain('AcmeMutualSSL');
  });

  it('mints a per-connection token over mutual TLS, re-mints it over mutual TLS, and proxies over mutual TLS', async () => {
    seen.length = 0;
    const res = await connect('adp', 'org-1');
    expect(res).toMatchObject({ status: 200, body: { providerConfigKey: 'adp', connectionId: 'org-1' } });
    expect(seen).toEqual([{ path: '/auth/oauth/v2/token', clientCn: 'AcmeMutualSSL', authorization: expect.stringMatching(/^Basic /) }]);

    // Near expiry, reading the token re-mints it, over mutual TLS again.
    const token = async () => (await kw.api('/connections/org-1?provider_config_key=adp')).body.credentials?.token as string | undefined;
    const first = await token();
    expect(first).toMatch(/^adp-/);
    await expect.poll(token, { timeout: 5000, interval: 100 }).not.toBe(first);
    expect(seen.filter((s) => s.path === '/auth/oauth/v2/token').length).toBeGreaterThanOrEqual(2);

    seen.length = 0;
    const proxied = await proxyGet('adp', 'org-1');
    expect(proxied).toEqual({ status: 200, body: { workers: [{ associateOID: 'G3ZYY' }] } });
    const call = seen.find((s) => s.path === '/api/hr/v2/workers')!;
    expect(call).toMatchObject({ clientCn: 'AcmeMutualSSL', authorization: expect.stringMatching(/^Bearer adp-/) });
    // Every request the provider saw, token and API alike, came with the certificate.
    expect(seen.every((s) => s.clientCn === 'AcmeMutualSSL')).toBe(true);
  });

  it('keeps the private key sealed at rest and out of every log line', async () => {
    const stored = await atRest(kw.config.dbPath);
    expect(stored).toContain(CERT.split('\n')[1]!); // the certificate is public: stored as it is
    expect(stored).not.toContain(KEY_BODY.slice(0, 40));
    expect(stored).not.toContain('PRIVATE KEY');
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.join('\n')).not.toContain(KEY_BODY.slice(0, 40));
  });
});

describe('refusals', () => {
  it('refuses a key that does not match the certificate, and an expired certificate, with a typed 400', async () => {
    const mismatch = await kw.api('/integrations', json({ unique_key: 'adp-bad', provider: 'mtls-cc', client_certificate: { certificate: CERT, private_key: fixture('other.key') } }));
    expect([mismatch.status, mismatch.body.error.code]).toEqual([400, 'invalid_client_certificate']);
    expect(mismatch.body.error.message).toMatch(/does not match/);
    const expired = await kw.api('/integrations', json({ unique_key: 'adp-old', provider: 'mtls-cc', client_certificate: { certificate: fixture('expired.pem'), private_key: KEY } }));
    expect([expired.status, expired.body.error.code]).toEqual([400, 'invalid_client_certificate']);
    expect(expired.body.error.message).toMatch(/expired on 2021-01-01/);
    const garbage = await kw.api('/integrations', json({ unique_key: 'adp-junk', provider: 'mtls-cc', client_certificate: { certificate: 'not a pem', private_key: KEY } }));
    expect([garbage.status, garbage.body.error.code]).toEqual([400, 'invalid_client_certificate']);
    const half = await kw.api('/integrations', json({ unique_key: 'adp-half', provider: 'mtls-cc', client_certificate: { certificate: CERT } }));
    expect([half.status, half.body.error.code]).toEqual([400, 'invalid_client_certificate']);
    // A template without mutual TLS takes no certificate.
    const plain = await kw.api('/integrations', json({ unique_key: 'plain-cert', provider: 'plain-cc', client_certificate: { certificate: CERT, private_key: KEY } }));
    expect([plain.status, plain.body.error.code]).toEqual([400, 'invalid_client_certificate']);
    // None of them was created.
    const keys = (await kw.api('/integrations')).body.data.map((i: { unique_key: string }) => i.unique_key);
    expect(keys).not.toContain('adp-bad');
    expect(keys).not.toContain('adp-old');
  });

  it('refuses a connection of a mutual-TLS template while the integration has no certificate, naming what is missing', async () => {
    const made = await kw.api('/integrations', json({ unique_key: 'adp-nocert', provider: 'mtls-cc' }));
    expect(made.status).toBe(200);
    expect(made.body.data.client_certificate).toBeNull();
    seen.length = 0;
    const res = await connect('adp-nocert', 'org-2');
    expect([res.status, res.body.error.code]).toEqual([400, 'missing_client_certificate']);
    expect(res.body.error.message).toMatch(/client_certificate/);
    expect(seen).toEqual([]); // refused before any request
  });

  it('a client without the certificate is refused by the provider, and the failure is typed', async () => {
    await kw.api('/integrations', json({ unique_key: 'plain', provider: 'plain-cc' }));
    const refusedBefore = handshakesRefused;
    const res = await connect('plain', 'org-3');
    expect([res.status, res.body.error.code]).toEqual([502, 'token_err']);
    expect(handshakesRefused).toBeGreaterThan(refusedBefore);
  });

  it('removing the certificate stops the proxy and re-mints with a typed error; setting it again restores them', async () => {
    expect((await connect('adp', 'org-4')).status).toBe(200);
    const removed = await kw.api('/integrations/adp', { method: 'PATCH', body: JSON.stringify({ client_certificate: null }) });
    expect([removed.status, removed.body.data.client_certificate]).toEqual([200, null]);
    const proxied = await proxyGet('adp', 'org-4');
    expect([proxied.status, proxied.body.error.code]).toEqual([400, 'missing_client_certificate']);
    // The token is re-minted once it is due: then the missing certificate is named.
    const read = async () => {
      const r = await kw.api('/connections/org-4?provider_config_key=adp');
      return [r.status, r.body.error?.code];
    };
    await expect.poll(read, { timeout: 5000, interval: 100 }).toEqual([400, 'missing_client_certificate']);
    const restored = await kw.api('/integrations/adp', { method: 'PATCH', body: JSON.stringify({ client_certificate: { certificate: CERT, private_key: KEY } }) });
    expect(restored.status).toBe(200);
    expect((await proxyGet('adp', 'org-4')).status).toBe(200);
  });
});

describe('the outbound client presenting a certificate', () => {
  const presented = (certificate: string) => ({ owner: 'adp', certificate, private_key: KEY });

  it('keeps every SSRF check: a name resolving to loopback is refused before any handshake', async () => {
    const outbound = createOutboundFetch({ allowPrivateNetwork: false, trustedCa: CA, resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
    const before = handshakes + handshakesRefused;
    const port = new URL(origin).port;
    for (const attempt of [
      outbound(`https://api.looks-public.example:${port}/api/hr/v2/workers`, { clientCertificate: presented(CERT) }),
      outbound(`${origin}/api/hr/v2/workers`, { clientCertificate: presented(CERT) }),
      outbound.stream(`${origin}/api/hr/v2/workers`, { method: 'GET', headers: {}, headersTimeoutMs: 2000, bodyTimeoutMs: 2000, clientCertificate: presented(CERT) }),
    ]) {
      const e = await attempt.then(() => undefined, (err: unknown) => err);
      expect(e).toBeInstanceOf(KeywayError);
      expect((e as KeywayError).code).toBe('private_address_refused');
    }
    expect(handshakes + handshakesRefused).toBe(before);
    await outbound.close();
  });

  it("presents the owner's current certificate: a changed one at once, and again after a release", async () => {
    const outbound = createOutboundFetch({ allowPrivateNetwork: true, trustedCa: CA });
    const call = async (certificate: string) => {
      seen.length = 0;
      const res = await outbound(`${origin}/nothing-here`, { clientCertificate: presented(certificate) }).catch(() => undefined);
      await res?.text();
      return seen[0]?.clientCn;
    };
    expect(await call(CERT)).toBe('AcmeMutualSSL');
    expect(await call(CERT)).toBe('AcmeMutualSSL');
    // A changed certificate (here one the provider refuses: expired) is presented at once, not the cached one.
    expect(await call(fixture('expired.pem'))).toBeUndefined();
    expect(await call(CERT)).toBe('AcmeMutualSSL');
    await outbound.releaseClientCertificate('adp');
    expect(await call(CERT)).toBe('AcmeMutualSSL');
    // Without a certificate, the same client is refused by the provider.
    await expect(outbound(`${origin}/nothing-here`, {})).rejects.toThrow();
    await outbound.close();
  });
});

describe('the client_certificate template field', () => {
  const cc = { display_name: 'X', categories: ['hr'], docs: 'https://example.com/docs', auth_mode: 'OAUTH2_CC', token_url: 'https://example.com/token' };
  it('is a boolean of OAUTH2_CC templates only', () => {
    expect(validateTemplate('x', { ...cc, client_certificate: true })).toMatchObject({ client_certificate: true });
    expect(() => validateTemplate('x', { ...cc, client_certificate: 'yes' })).toThrow(/client_certificate.*true or false/);
    expect(() => validateTemplate('x', { ...cc, auth_mode: 'OAUTH2', authorization_url: 'https://example.com/auth', client_certificate: true })).toThrow(/client_certificate.*not a field of OAUTH2/);
  });
});
