import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Nango as KeywayNode } from '../packages/node/src/index.ts';
import { ALLOW_PUBLIC_KEY, freePort, PUBLIC_KEY, SECRET_KEY } from '../packages/server/test/support/keyway.ts';
import { SANDBOX_CLIENT, startSandboxStack } from '../packages/server/test/support/sandbox-stack.ts';
import { launchChromium } from './support/chromium.ts';
import { buildSdk, startHarness } from './support/harness.ts';

/**
 * The browser SDK in real Chromium, against the real Keyway server and the sandbox provider.
 * The app page is a plain page on its own origin that loads the SDK's script-tag build.
 */
type Stack = Awaited<ReturnType<typeof startSandboxStack>>;
let browser: Browser;
let app: Awaited<ReturnType<typeof startHarness>>;
let evil: Awaited<ReturnType<typeof startHarness>>;
let stack: Stack;
let coopStack: Stack;

async function withIntegration(s: Stack): Promise<Stack> {
  await new KeywayNode({ host: s.kw.url, secretKey: SECRET_KEY }).createIntegration({ unique_key: 'key-api', provider: 'key-api' });
  await new KeywayNode({ host: s.kw.url, secretKey: SECRET_KEY }).createIntegration({
    unique_key: 'sandbox',
    provider: 'keyway-sandbox',
    credentials: { type: 'OAUTH2', client_id: SANDBOX_CLIENT.clientId, client_secret: SANDBOX_CLIENT.clientSecret },
  });
  return s;
}

beforeAll(async () => {
  const sdk = await buildSdk();
  const appPort = await freePort();
  const keyTemplate = {
    display_name: 'Key API', categories: ['dev-tools'], docs: 'https://example.com/docs', auth_mode: 'API_KEY',
    credentials: { apiKey: { title: 'API key', pattern: 'key_[a-z0-9]{8,}' } },
  };
  // The SDK's public-key mode is what these tests exercise: opt in (KEYWAY_ALLOW_PUBLIC_KEY=true).
  const allowed = { keyway: { config: { ...ALLOW_PUBLIC_KEY, allowedOrigins: [`http://127.0.0.1:${appPort}`] }, templates: { 'key-api': keyTemplate } } };
  [app, evil, stack, coopStack, browser] = await Promise.all([
    startHarness(sdk, appPort),
    startHarness(sdk),
    startSandboxStack(allowed).then(withIntegration),
    startSandboxStack({ ...allowed, sandbox: { crossOriginOpenerPolicy: true } }).then(withIntegration),
    launchChromium(),
  ]);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await Promise.all([app?.close(), evil?.close(), stack?.close(), coopStack?.close()]);
});

interface AuthRun {
  page: Page;
  popup: Page;
  /** The flow id the SDK sent to /oauth/connect. */
  flowId: string;
  result: () => Promise<{ ok: boolean; value?: { providerConfigKey: string; connectionId: string }; type?: string; message?: string; isAuthError?: boolean }>;
}

/** Opens the app page and clicks Connect (a real user gesture); returns the page, its popup and the outcome. */
async function startAuth(s: Stack, connectionId: string | undefined, pageUrl = app.url, options: Record<string, unknown> = {}, auth: Record<string, string> = { publicKey: PUBLIC_KEY }, given?: Page): Promise<AuthRun> {
  const page = given ?? (await browser.newPage());
  await page.goto(pageUrl);
  await page.evaluate((cfg) => Object.assign(window, { cfg }), { host: s.kw.url, ...auth, configKey: 'sandbox', connectionId, options });
  const connectRequest = page.context().waitForEvent('request', (r) => r.url().startsWith(`${s.kw.url}/oauth/connect/`));
  const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('#connect')]);
  const flowId = new URL((await connectRequest).url()).searchParams.get('flow_id')!;
  expect(flowId).toMatch(/^[A-Za-z0-9_-]{43}$/);
  return {
    page,
    popup,
    flowId,
    result: async () => {
      await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, undefined, { timeout: 20_000 });
      return page.evaluate(() => (window as unknown as { result: never }).result);
    },
  };
}

const keywayMessages = (page: Page) => page.evaluate(() => (window as unknown as { messages: { data: { source?: string } }[] }).messages.filter((m) => m.data?.source === 'keyway'));
const node = (s: Stack) => new KeywayNode({ host: s.kw.url, secretKey: SECRET_KEY });

describe('nango.auth() in Chromium', () => {
  it('resolves with the pair after the user approves; the backend gets a token the provider accepts', async () => {
    const run = await startAuth(stack, 'user-1');
    await run.popup.click('#approve');
    expect(await run.result()).toEqual({ ok: true, value: { providerConfigKey: 'sandbox', connectionId: 'user-1' } });
    // Whichever path delivers first wins: the long-poll may resolve (and close the popup) before the callback page
    // posts, as it does on a loaded machine. The contract: never more than one message, and only for this flow.
    const messages = await keywayMessages(run.page);
    expect(messages.length).toBeLessThanOrEqual(1);
    for (const m of messages) expect(m.data).toMatchObject({ source: 'keyway', flowId: run.flowId });
    if (!run.popup.isClosed()) await run.popup.waitForEvent('close', { timeout: 5000 });
    const token = (await node(stack).getToken('sandbox', 'user-1')) as string;
    const me = await fetch(stack.sandbox.userinfoUrl, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    await run.page.close();
  });

  it('resolves through postMessage alone when the long-poll gets no answer', async () => {
    const page = await browser.newPage();
    const held: string[] = [];
    // The long-poll requests are held forever (never answered, never failed): only the callback page's message can deliver.
    await page.route(`${stack.kw.url}/oauth/flows/**`, (route) => void held.push(route.request().url()));
    const run = await startAuth(stack, 'user-fast', app.url, {}, { publicKey: PUBLIC_KEY }, page);
    await run.popup.click('#approve');
    expect(await run.result()).toEqual({ ok: true, value: { providerConfigKey: 'sandbox', connectionId: 'user-fast' } });
    expect(held.length).toBeGreaterThanOrEqual(1);
    expect(await keywayMessages(run.page)).toHaveLength(1);
    await run.page.close();
  });

  it('resolves through the reliable path when the provider cuts the opener with COOP', async () => {
    const run = await startAuth(coopStack, 'user-coop');
    await run.popup.waitForSelector('#approve');
    expect(await run.popup.evaluate(() => window.opener)).toBeNull(); // COOP cut the link to the app
    await run.popup.click('#approve');
    expect(await run.result()).toEqual({ ok: true, value: { providerConfigKey: 'sandbox', connectionId: 'user-coop' } });
    expect(await keywayMessages(run.page)).toEqual([]); // no postMessage could arrive: the long-poll delivered it
    expect((await node(coopStack).getConnection('sandbox', 'user-coop')).connection_id).toBe('user-coop');
    await run.page.close();
  });

  it('rejects with access_denied when the user denies, stores nothing, and leaves the error on screen', async () => {
    const run = await startAuth(stack, 'user-denies');
    await run.popup.click('#deny');
    expect(await run.result()).toMatchObject({ ok: false, type: 'access_denied', isAuthError: true });
    expect(run.popup.isClosed()).toBe(false);
    expect(await run.popup.locator('main').getAttribute('data-error-code')).toBe('access_denied');
    await expect(node(stack).getConnection('sandbox', 'user-denies')).rejects.toMatchObject({ code: 'unknown_connection' });
    await run.page.close();
  });

  it('refuses a flow from a page on a disallowed origin and posts nothing to it', async () => {
    const run = await startAuth(stack, 'user-evil', evil.url);
    await run.popup.waitForLoadState();
    expect(await run.popup.locator('main').getAttribute('data-error-code')).toBe('origin_not_allowed');
    const result = await run.result();
    expect(result).toMatchObject({ ok: false, type: 'unknown_error' });
    expect(result.message).toMatch(/KEYWAY_ALLOWED_ORIGINS/);
    expect(await keywayMessages(run.page)).toEqual([]);
    await expect(node(stack).getConnection('sandbox', 'user-evil')).rejects.toMatchObject({ code: 'unknown_connection' });
    await run.page.close();
  });

  it('ignores forged success messages from other windows and origins', async () => {
    const run = await startAuth(stack, 'user-forged');
    const forged = { source: 'keyway', flowId: run.flowId, ok: true, providerConfigKey: 'sandbox', connectionId: 'forged' };
    // From the app window itself, and from a frame on another origin.
    await run.page.evaluate((m) => window.postMessage(m, '*'), forged);
    await run.page.evaluate((src) => {
      const f = document.createElement('iframe');
      f.src = src;
      document.body.appendChild(f);
      return new Promise((r) => f.addEventListener('load', r));
    }, `${evil.url}/?forge=${encodeURIComponent(JSON.stringify(forged))}`);
    // The forgeries do arrive (a message is delivered after the frame's load event: wait for it)...
    await run.page.waitForFunction(() => (window as unknown as { messages: { data: { source?: string } }[] }).messages.filter((m) => m.data?.source === 'keyway').length >= 2, undefined, { timeout: 10_000 });
    expect(await run.page.evaluate(() => (window as unknown as { result?: unknown }).result)).toBeUndefined(); // ...and were ignored
    await run.popup.click('#deny');
    expect(await run.result()).toMatchObject({ ok: false, type: 'access_denied' });
    await run.page.close();
  });

  it('rejects with aborted when the signal aborts, and closes the popup', async () => {
    const run = await startAuth(stack, 'user-aborts');
    await run.popup.waitForSelector('#approve');
    await run.page.evaluate(() => (window as unknown as { ac: AbortController }).ac.abort());
    expect(await run.result()).toMatchObject({ ok: false, type: 'aborted' });
    if (!run.popup.isClosed()) await run.popup.waitForEvent('close', { timeout: 5000 });
    await run.page.close();
  });

  it('runs a flow with a connect session from the backend: the end user becomes the connection id', async () => {
    const { data } = await node(stack).createConnectSession({ end_user: { id: 'session-user' }, allowed_integrations: ['sandbox'] });
    const run = await startAuth(stack, undefined, app.url, {}, { connectSessionToken: data.token });
    await run.popup.click('#approve');
    expect(await run.result()).toEqual({ ok: true, value: { providerConfigKey: 'sandbox', connectionId: 'session-user' } });
    expect((await node(stack).getConnection('sandbox', 'session-user')).end_user).toMatchObject({ id: 'session-user' });
    await run.page.close();
  });

  it('connects an API-key integration with auth(key, id, { credentials }), without a popup', async () => {
    const page = await browser.newPage();
    await page.goto(app.url);
    const run = (apiKey: string) =>
      page.evaluate(
        ({ host, publicKey, apiKey }) =>
          new (window as unknown as { Nango: new (o: object) => { auth(k: string, c: string, o: object): Promise<unknown> } }).Nango({ host, publicKey })
            .auth('key-api', 'key-user', { credentials: { apiKey } })
            .then((r) => ({ ok: true, r }), (e: { type: string }) => ({ ok: false, type: e.type })),
        { host: stack.kw.url, publicKey: PUBLIC_KEY, apiKey },
      );
    expect(await run('nope')).toEqual({ ok: false, type: 'invalid_credentials' });
    expect(await run('key_abcdef123')).toEqual({ ok: true, r: { providerConfigKey: 'key-api', connectionId: 'key-user' } });
    expect(await node(stack).getToken('key-api', 'key-user')).toEqual({ type: 'API_KEY', apiKey: 'key_abcdef123' });
    expect(page.context().pages()).toHaveLength(1); // no popup
    await page.close();
  });

  it('rejects with blocked_by_browser when the browser blocks the popup', async () => {
    const strict = await launchChromium({ popupBlocking: true });
    try {
      const page = await strict.newPage();
      const cfg = { host: stack.kw.url, publicKey: PUBLIC_KEY, configKey: 'sandbox', connectionId: 'user-blocked' };
      await page.goto(`${app.url}/?auto=${encodeURIComponent(JSON.stringify(cfg))}`);
      await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined);
      expect(await page.evaluate(() => (window as unknown as { result: unknown }).result)).toMatchObject({ ok: false, type: 'blocked_by_browser', isAuthError: true });
    } finally {
      await strict.close();
    }
  });
});
