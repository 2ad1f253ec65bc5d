import { execFile } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Nango as KeywayNango } from '@keyway/node';
import { Nango as OfficialNango } from '@nangohq/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.ts';
import type { AuthEvent } from '../src/webhooks/events.ts';
import { NO_EVENTS } from '../src/webhooks/events.ts';
import { WebhookSender, type WebhookSenderOptions } from '../src/webhooks/sender.ts';

const SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;

// ─── a real receiver that records raw bodies and headers and answers what the test says ───

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly raw: Buffer;
  readonly at: number;
}
type Answer = number | 'hang';

let receiver: Server;
let url: string;
let received: Received[] = [];
let answer: (attempt: number) => Answer = () => 200;
let hanging: ServerResponse[] = [];
let lines: string[] = [];
const log = createLogger('debug', (line) => lines.push(line));
const warnLines = () => lines.filter((l) => / warn /.test(l));

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, raw: Buffer.concat(chunks), at: performance.now() });
      const a = answer(received.length);
      if (a === 'hang') {
        hanging.push(res);
        return;
      }
      res.writeHead(a, { 'content-type': 'text/plain' }).end(`answer ${a}`);
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/keyway`;
});

afterAll(async () => {
  receiver.closeAllConnections();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

beforeEach(() => {
  received = [];
  answer = () => 200;
  lines = [];
});

afterEach(() => {
  for (const res of hanging) res.destroy();
  hanging = [];
});

function sender(options: Partial<WebhookSenderOptions> = {}): WebhookSender {
  return new WebhookSender({ url, secret: SECRET, timeoutMs: 2000, retryDelaysMs: [50, 100], log, ...options });
}

const creation: AuthEvent = {
  operation: 'creation',
  success: true,
  providerConfigKey: 'slack-prod',
  connectionId: 'conn-ada-1',
  provider: 'slack',
  authMode: 'OAUTH2',
  endUser: { id: 'user-42', email: 'ada@example.com', display_name: 'Ada', organization: { id: 'org-7', display_name: 'Acme' } },
};
const override: AuthEvent = {
  operation: 'override',
  success: true,
  providerConfigKey: 'github',
  connectionId: 'conn-é-2',
  provider: 'github',
  authMode: 'OAUTH2',
  endUser: null,
};
const refreshFailure: AuthEvent = {
  operation: 'refresh',
  success: false,
  providerConfigKey: 'google',
  connectionId: 'conn-3',
  provider: 'google',
  authMode: 'OAUTH2',
  endUser: { id: 'user-1' },
  error: { type: 'refresh_token_external_error', description: 'The provider refused the refresh: invalid_grant' },
};

const json = (r: Received | undefined): unknown => JSON.parse(r!.raw.toString('utf8'));
const hmac = (raw: Buffer | string, key = SECRET) => createHmac('sha256', key).update(raw).digest('hex');

async function freeClosedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('auth webhook body (Nango NangoAuthWebhookBody shape)', () => {
  it('creation: success, endUser mapped to Nango field names', async () => {
    const s = sender();
    s.emit(creation);
    await s.drain();
    expect(received).toHaveLength(1);
    expect(json(received[0])).toStrictEqual({
      from: 'keyway',
      type: 'auth',
      connectionId: 'conn-ada-1',
      providerConfigKey: 'slack-prod',
      authMode: 'OAUTH2',
      provider: 'slack',
      environment: 'prod',
      operation: 'creation',
      success: true,
      tags: {},
      endUser: { endUserId: 'user-42', organizationId: 'org-7', endUserEmail: 'ada@example.com', tags: {} },
    });
    expect(received[0]!.headers['content-type']).toBe('application/json');
    expect(received[0]!.headers['user-agent']).toBe('keyway');
    expect(lines).toEqual([]);
  });

  it('override: endUser null, no error field', async () => {
    const s = sender();
    s.emit(override);
    await s.drain();
    expect(json(received[0])).toStrictEqual({
      from: 'keyway',
      type: 'auth',
      connectionId: 'conn-é-2',
      providerConfigKey: 'github',
      authMode: 'OAUTH2',
      provider: 'github',
      environment: 'prod',
      operation: 'override',
      success: true,
      tags: {},
      endUser: null,
    });
  });

  it('refresh failure: success false with { type, description }; no organizationId, null email', async () => {
    const s = sender();
    s.emit(refreshFailure);
    await s.drain();
    expect(json(received[0])).toStrictEqual({
      from: 'keyway',
      type: 'auth',
      connectionId: 'conn-3',
      providerConfigKey: 'google',
      authMode: 'OAUTH2',
      provider: 'google',
      environment: 'prod',
      operation: 'refresh',
      success: false,
      tags: {},
      endUser: { endUserId: 'user-1', endUserEmail: null, tags: {} },
      error: { type: 'refresh_token_external_error', description: 'The provider refused the refresh: invalid_grant' },
    });
  });

  it('a failure without an error still carries one (Nango requires it); a success never does', async () => {
    const s = sender();
    const { error: _omit, ...noError } = refreshFailure;
    s.emit(noError);
    s.emit({ ...creation, error: { type: 'x', description: 'y' } });
    await s.drain();
    const bodies = received.map(json) as Array<{ success: boolean; error?: unknown }>;
    expect(bodies.find((b) => !b.success)?.error).toEqual({ type: 'unknown_error', description: 'The operation failed' });
    expect(bodies.find((b) => b.success)).not.toHaveProperty('error');
  });

  it('several events are delivered concurrently and independently', async () => {
    const s = sender();
    s.emit(creation);
    s.emit(override);
    s.emit(refreshFailure);
    expect(s.inFlight).toBe(3);
    await s.drain();
    expect(s.inFlight).toBe(0);
    expect(received.map((r) => (json(r) as { operation: string }).operation).sort()).toEqual(['creation', 'override', 'refresh']);
  });
});

describe('signatures', () => {
  const standard = (id: string, timestamp: string, raw: Buffer) =>
    `v1,${createHmac('sha256', Buffer.from(SECRET.slice(6), 'base64')).update(`${id}.${timestamp}.`).update(raw).digest('base64')}`;

  it('Standard Webhooks headers sign id, timestamp and body with the webhook secret; X-Nango-Hmac-Sha256 the hex HMAC of the body; no legacy header unless asked', async () => {
    const clock = 1_800_000_000_123;
    const s = sender({ now: () => clock });
    s.emit(override); // non-ASCII connection id: signed over the UTF-8 bytes
    await s.drain();
    const { headers, raw } = received[0]!;
    expect(headers['webhook-id']).toMatch(/^msg_[A-Za-z0-9_-]{22}$/);
    expect(headers['webhook-timestamp']).toBe('1800000000');
    expect(headers['webhook-signature']).toBe(standard(headers['webhook-id'] as string, '1800000000', raw));
    expect(headers['x-keyway-hmac-sha256']).toBe(hmac(raw));
    expect(headers['x-nango-hmac-sha256']).toBe(hmac(raw));
    expect(headers['x-nango-signature']).toBeUndefined();
  });

  it('sends the legacy X-Nango-Signature (sha256(secret + body)) only with legacySignature', async () => {
    const s = sender({ legacySignature: true });
    s.emit(creation);
    await s.drain();
    const { headers, raw } = received[0]!;
    expect(headers['x-nango-signature']).toBe(createHash('sha256').update(Buffer.concat([Buffer.from(SECRET), raw])).digest('hex'));
  });

  it('the official @nangohq/node verifyIncomingWebhookRequest (webhookSigningKey) accepts our deliveries; the deprecated check only with the legacy header', async () => {
    const s = sender({ legacySignature: true });
    s.emit(creation);
    s.emit(refreshFailure);
    await s.drain();
    const official = new OfficialNango({ host: 'http://127.0.0.1:9', secretKey: 'sk_api_key_is_not_the_signing_key', webhookSigningKey: SECRET } as ConstructorParameters<typeof OfficialNango>[0]);
    const apiKeyOnly = new OfficialNango({ host: 'http://127.0.0.1:9', secretKey: 'sk_api_key_is_not_the_signing_key' });
    expect(received).toHaveLength(2);
    for (const { headers, raw } of received) {
      const body = raw.toString('utf8');
      expect(official.verifyIncomingWebhookRequest(body, headers as Record<string, unknown>)).toBe(true);
      expect(official.verifyIncomingWebhookRequest(body.replace('"success":', '"success" :'), headers as Record<string, unknown>)).toBe(false);
      expect(apiKeyOnly.verifyIncomingWebhookRequest(body, headers as Record<string, unknown>)).toBe(false);
      expect(official.verifyWebhookSignature(headers['x-nango-signature'] as string, JSON.parse(body))).toBe(true);
    }
  });

  it('@keyway/node verifyIncomingWebhookRequest accepts our deliveries as received by node:http, and refuses them once older than 5 minutes', async () => {
    let clock = Date.now();
    const s = sender({ now: () => clock });
    s.emit(creation);
    await s.drain();
    const { headers, raw } = received[0]!;
    const client = new KeywayNango({ host: 'http://127.0.0.1:9', secretKey: 'sk_api_0123456789', webhookSigningKey: SECRET });
    expect(client.verifyIncomingWebhookRequest(raw, headers, { now: () => clock })).toBe(true);
    expect(client.verifyIncomingWebhookRequest(raw.toString('utf8'), headers, { now: () => clock })).toBe(true);
    expect(new KeywayNango({ host: 'http://127.0.0.1:9', secretKey: 'sk_api_0123456789', webhookSigningKey: `whsec_${Buffer.alloc(32, 1).toString('base64')}` }).verifyIncomingWebhookRequest(raw, headers)).toBe(false);
    // The replay: the same captured request, 5 minutes and a second later.
    clock += 301_000;
    expect(client.verifyIncomingWebhookRequest(raw, headers, { now: () => clock })).toBe(false);
  });
});

describe('delivery', () => {
  it('retries a 500 and stops at the first 2xx (two attempts, no warning)', async () => {
    answer = (n) => (n === 1 ? 500 : 204);
    const s = sender();
    s.emit(creation);
    await s.drain();
    expect(received).toHaveLength(2);
    expect(received[1]!.raw.equals(received[0]!.raw)).toBe(true); // the same body
    expect(received[1]!.headers['x-keyway-hmac-sha256']).toBe(received[0]!.headers['x-keyway-hmac-sha256']);
    expect(received[1]!.headers['webhook-id']).toBe(received[0]!.headers['webhook-id']); // one message, re-signed per attempt
    expect(received[1]!.at - received[0]!.at).toBeGreaterThanOrEqual(45);
    expect(warnLines()).toEqual([]);
    expect(lines.some((l) => l.includes(' debug ') && l.includes('status=500'))).toBe(true);
  });

  it('retries 408 and 429', async () => {
    answer = (n) => (n === 1 ? 408 : n === 2 ? 429 : 200);
    const s = sender();
    s.emit(creation);
    await s.drain();
    expect(received).toHaveLength(3);
    expect(warnLines()).toEqual([]);
  });

  it('does not retry a 400 (one attempt, one warning)', async () => {
    answer = () => 400;
    const s = sender();
    s.emit(creation);
    await s.drain();
    await new Promise((r) => setTimeout(r, 200)); // longer than every retry delay
    expect(received).toHaveLength(1);
    expect(warnLines()).toHaveLength(1);
    expect(warnLines()[0]).toContain('status=400');
  });

  it('does not follow a redirect (the signed body goes only to the configured URL)', async () => {
    answer = () => 302;
    const s = sender();
    s.emit(creation);
    await s.drain();
    expect(received).toHaveLength(1);
    expect(warnLines()[0]).toContain('status=302');
  });

  it('gives up after the retry delays on a receiver that always fails: one warning with operation, config key, connection id, status', async () => {
    answer = () => 503;
    const s = sender({ retryDelaysMs: [30, 60] });
    s.emit(refreshFailure);
    await s.drain();
    expect(received).toHaveLength(3);
    expect(received[2]!.at - received[1]!.at).toBeGreaterThanOrEqual(55);
    expect(warnLines()).toHaveLength(1);
    const warn = warnLines()[0]!;
    expect(warn).toContain('webhook delivery abandoned');
    expect(warn).toContain('operation="refresh"');
    expect(warn).toContain('config_key="google"');
    expect(warn).toContain('connection_id="conn-3"');
    expect(warn).toContain('status=503');
    expect(warn).toContain('attempts=3');
  });

  it('a receiver that never answers hits the time-out; emit() returns at once', async () => {
    answer = () => 'hang';
    const s = sender({ timeoutMs: 150, retryDelaysMs: [20] });
    const started = performance.now();
    expect(s.emit(creation)).toBeUndefined(); // returns at once: nothing to await
    expect(received).toHaveLength(0); // nothing was sent before emit() returned
    await s.drain();
    const total = performance.now() - started;
    expect(received).toHaveLength(2);
    expect(total).toBeGreaterThanOrEqual(2 * 150 + 20 - 10);
    expect(warnLines()).toHaveLength(1);
    expect(warnLines()[0]).toMatch(/status=0 error="timeout" attempts=2/);
  });

  it('a closed port (network error) is retried then abandoned with one warning holding neither the body nor the secret', async () => {
    const closed = `http://127.0.0.1:${await freeClosedPort()}/hooks`;
    const s = sender({ url: closed, retryDelaysMs: [20, 20] });
    s.emit(creation);
    await s.drain();
    expect(warnLines()).toHaveLength(1);
    const warn = warnLines()[0]!;
    expect(warn).toContain('connection_id="conn-ada-1"');
    expect(warn).toContain('config_key="slack-prod"');
    expect(warn).toContain('status=0');
    expect(warn).toContain('error="ECONNREFUSED"');
    expect(warn).toContain('attempts=3');
    // Two retries were logged at debug level; no line at any level leaks the secret, a signature or the body.
    expect(lines.filter((l) => l.includes(' debug '))).toHaveLength(2);
    const body = JSON.stringify({ from: 'keyway' }).slice(1, -1);
    for (const line of lines) {
      expect(line).not.toContain(SECRET);
      expect(line).not.toContain(body);
      expect(line).not.toContain('ada@example.com');
      expect(line).not.toContain('user-42');
      expect(line).not.toMatch(/[0-9a-f]{64}/);
    }
  });

  it('caps the deliveries in flight: beyond the cap, an event is dropped with a warning', async () => {
    answer = () => 'hang';
    const s = sender({ timeoutMs: 200, retryDelaysMs: [], maxInFlight: 2 });
    s.emit(creation);
    s.emit(override);
    s.emit(refreshFailure);
    expect(s.inFlight).toBe(2);
    expect(warnLines()).toHaveLength(1);
    expect(warnLines()[0]).toContain('webhook dropped');
    expect(warnLines()[0]).toContain('connection_id="conn-3"');
    await s.drain();
    expect(received).toHaveLength(2);
    s.emit(refreshFailure); // room again
    expect(s.inFlight).toBe(1);
    await s.drain();
  });

  it('emit() never throws: a fetch that throws synchronously is a network error', async () => {
    const s = sender({
      retryDelaysMs: [],
      fetch: () => {
        throw new TypeError('boom');
      },
    });
    expect(() => s.emit(creation)).not.toThrow();
    await s.drain();
    expect(warnLines()).toHaveLength(1);
    expect(warnLines()[0]).toContain('error="network_error"');
  });

  it('drain() resolves at once with nothing in flight; NO_EVENTS does nothing', async () => {
    await sender().drain();
    expect(() => NO_EVENTS.emit(creation)).not.toThrow();
  });

  it('rejects bad options at construction', () => {
    expect(() => sender({ url: 'ftp://example.com/x' })).toThrow(/http\(s\)/);
    expect(() => sender({ url: 'not a url' })).toThrow(/url/);
    expect(() => sender({ secret: '' })).toThrow(/secret/);
    expect(() => sender({ secret: 'sk_not_a_whsec_secret' })).toThrow(/whsec_/);
    expect(() => sender({ timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => sender({ retryDelaysMs: [-1] })).toThrow(/retryDelaysMs/);
    expect(() => sender({ maxInFlight: 0 })).toThrow(/maxInFlight/);
  });
});

describe('process lifetime (a child process)', () => {
  const serverDir = join(dirname(fileURLToPath(import.meta.url)), '..');
  let dir: string;
  let script: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyway-webhooks-'));
    script = join(dir, 'child.mts'); // .mts: an ES module outside any package.json
    const sender = pathToFileURL(join(serverDir, 'src/webhooks/sender.ts')).href;
    const logger = pathToFileURL(join(serverDir, 'src/log.ts')).href;
    await writeFile(
      script,
      `import { WebhookSender } from ${JSON.stringify(sender)};
import { createLogger } from ${JSON.stringify(logger)};
const [url, delay, mode] = process.argv.slice(2);
const s = new WebhookSender({ url, secret: 'whsec_' + Buffer.alloc(32).toString('base64'), retryDelaysMs: [Number(delay)], log: createLogger('warn', (l) => process.stdout.write(l + '\\n')) });
s.emit({ operation: 'creation', success: true, providerConfigKey: 'p', connectionId: 'c', provider: 'x', authMode: 'OAUTH2', endUser: null });
if (mode === 'drain') { await s.drain(); process.stdout.write('drained\\n'); }
`,
    );
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function run(args: string[]): Promise<{ code: number | null; stdout: string; ms: number }> {
    const started = performance.now();
    return new Promise((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', script, ...args], { cwd: serverDir, timeout: 20_000 }, (err, stdout) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, ms: performance.now() - started });
      });
    });
  }

  it('a pending retry timer does not keep the process alive', async () => {
    const closed = `http://127.0.0.1:${await freeClosedPort()}/`;
    // The retry waits 10 minutes; the child is killed (code != 0) if still alive after 20 s.
    const plain = await run([closed, '600000', 'exit']);
    expect(plain.code).toBe(0);
    expect(plain.stdout).not.toContain('abandoned');
  });

  it('await drain() waits for the retry timers, even when nothing else keeps the process alive', async () => {
    const closed = `http://127.0.0.1:${await freeClosedPort()}/`;
    const drained = await run([closed, '300', 'drain']);
    expect(drained.code).toBe(0);
    expect(drained.stdout).toContain('webhook delivery abandoned');
    expect(drained.stdout.trim().endsWith('drained')).toBe(true);
  });
});
