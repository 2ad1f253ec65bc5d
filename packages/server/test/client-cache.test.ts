import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Nango as KeywayNode } from '@keyway/node';
import { TestBrowser } from './support/browser.ts';
import { SECRET_KEY } from './support/keyway.ts';
import { SANDBOX_CLIENT, startSandboxStack } from './support/sandbox-stack.ts';

/**
 * @keyway/node against the real server: by default `getToken` here never returns a token that a
 * forced refresh, a reconnect or a delete made elsewhere (another process of the backend) replaced.
 */
let stack: Awaited<ReturnType<typeof startSandboxStack>>;
let here: KeywayNode;
let elsewhere: KeywayNode;

async function connect(connectionId: string): Promise<void> {
  const { data } = await elsewhere.createConnectSession({ end_user: { id: connectionId }, allowed_integrations: ['sandbox'] });
  expect((await new TestBrowser().follow(`${stack.kw.url}/oauth/connect/sandbox?connect_session_token=${data.token}`)).status).toBe(200);
}

beforeAll(async () => {
  stack = await startSandboxStack({ sandbox: { autoApprove: true } });
  here = new KeywayNode({ host: stack.kw.url, secretKey: SECRET_KEY });
  elsewhere = new KeywayNode({ host: stack.kw.url, secretKey: SECRET_KEY });
  await elsewhere.createIntegration({ unique_key: 'sandbox', provider: 'keyway-sandbox', credentials: { type: 'OAUTH2', client_id: SANDBOX_CLIENT.clientId, client_secret: SANDBOX_CLIENT.clientSecret } });
});
afterAll(() => stack?.close());

describe('getToken after changes made by another client', () => {
  it('sees a forced refresh, a reconnect and a delete at once (the default: no client cache)', async () => {
    await connect('dana');
    const first = await here.getToken('sandbox', 'dana');
    const refreshed = await elsewhere.getToken('sandbox', 'dana', true);
    expect(refreshed).not.toBe(first);
    expect(await here.getToken('sandbox', 'dana')).toBe(refreshed);

    await connect('dana'); // the same pair connected again: new credentials
    const reconnected = await here.getToken('sandbox', 'dana');
    expect(reconnected).not.toBe(refreshed);
    expect(await elsewhere.getToken('sandbox', 'dana')).toBe(reconnected);

    await elsewhere.deleteConnection('sandbox', 'dana');
    await expect(here.getToken('sandbox', 'dana')).rejects.toMatchObject({ code: 'unknown_connection' });
  });

  it('with the opt-in cache, serves its copy until the documented bound (here: until this client refreshes)', async () => {
    await connect('eli');
    const cached = new KeywayNode({ host: stack.kw.url, secretKey: SECRET_KEY, cache: true });
    const first = await cached.getToken('sandbox', 'eli');
    const refreshed = await elsewhere.getToken('sandbox', 'eli', true);
    expect(await cached.getToken('sandbox', 'eli')).toBe(first); // stale by choice
    expect(await here.getToken('sandbox', 'eli')).toBe(refreshed);
    expect(await cached.getToken('sandbox', 'eli', true)).not.toBe(first);
  });
});
