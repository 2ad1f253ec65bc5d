import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Nango as KeywayNode } from '../packages/node/src/index.ts';
import { json, startFakeProvider } from '../packages/server/test/support/fake-provider.ts';
import { freePort, SECRET_KEY } from '../packages/server/test/support/keyway.ts';
import { SANDBOX_CLIENT, startSandboxStack } from '../packages/server/test/support/sandbox-stack.ts';
import { launchChromium } from './support/chromium.ts';
import { buildSdk, startHarness } from './support/harness.ts';

/** The drop-in Connect UI in Chromium: an app page opens it with a connect session; one OAuth and one API-key connection, end to end. */
let browser: Browser;
let app: Awaited<ReturnType<typeof startHarness>>;
let provider: Awaited<ReturnType<typeof startFakeProvider>>;
let stack: Awaited<ReturnType<typeof startSandboxStack>>;
let node: KeywayNode;

beforeAll(async () => {
  const sdk = await buildSdk();
  const appPort = await freePort();
  provider = await startFakeProvider();
  provider.onToken((req, _b, res) => (req.headers.authorization === 'Bearer sk_live_valid123' ? json(res, 200, { ok: true }) : json(res, 401, { error: 'bad key' })));
  [app, stack, browser] = await Promise.all([
    startHarness(sdk, appPort),
    startSandboxStack({
      keyway: {
        config: { allowedOrigins: [`http://127.0.0.1:${appPort}`] },
        templates: {
          'key-api': {
            display_name: 'Key API', categories: ['dev-tools'], docs: 'https://example.com/docs', auth_mode: 'API_KEY',
            credentials: { apiKey: { title: 'API key', description: 'Starts with sk_live_', pattern: 'sk_live_[A-Za-z0-9]+' } },
            verification: { url: `${provider.url}/me`, headers: { Authorization: 'Bearer ${credentials.apiKey}' } },
          },
        },
      },
    }),
    launchChromium(),
  ]);
  node = new KeywayNode({ host: stack.kw.url, secretKey: SECRET_KEY });
  await node.createIntegration({ unique_key: 'sandbox', provider: 'keyway-sandbox', credentials: { type: 'OAUTH2', client_id: SANDBOX_CLIENT.clientId, client_secret: SANDBOX_CLIENT.clientSecret } });
  await node.createIntegration({ unique_key: 'key-api', provider: 'key-api' });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await Promise.all([app?.close(), stack?.close(), provider?.close()]);
});

async function openUi(endUser: string): Promise<Page> {
  const { data } = await node.createConnectSession({ end_user: { id: endUser }, allowed_integrations: ['sandbox', 'key-api'] });
  const page = await browser.newPage();
  await page.goto(app.url);
  await page.evaluate((cfg) => Object.assign(window, { cfg }), { host: stack.kw.url, connectSessionToken: data.token });
  await page.click('#open-connect-ui');
  return page;
}
const events = (page: Page) => page.evaluate(() => (window as unknown as { uiEvents: { type: string; payload?: unknown }[] }).uiEvents);

describe('the Connect UI', () => {
  it('connects an OAuth integration through its popup', async () => {
    const page = await openUi('ui-oauth');
    const ui = page.frameLocator('iframe');
    await ui.getByRole('button', { name: /Keyway Sandbox/ }).click();
    const [popup] = await Promise.all([page.waitForEvent('popup'), ui.getByRole('button', { name: 'Connect' }).click()]);
    await popup.click('#approve');
    await expect.poll(() => events(page), { timeout: 15_000 }).toContainEqual({ type: 'connect', payload: { providerConfigKey: 'sandbox', connectionId: 'ui-oauth' } });
    expect((await node.getConnection('sandbox', 'ui-oauth')).end_user).toMatchObject({ id: 'ui-oauth' });
    await page.screenshot({ path: new URL('../test-artifacts/screenshots/connect-ui-oauth-done.png', import.meta.url).pathname });
    await page.close();
  });

  it('connects an API-key integration from the generated form, after showing the provider refusing a bad key', async () => {
    const page = await openUi('ui-key');
    const ui = page.frameLocator('iframe');
    await ui.getByRole('button', { name: /Key API/ }).click();
    const field = ui.getByLabel(/API key/);
    await field.fill('not-a-key');
    await ui.getByRole('button', { name: 'Connect' }).click();
    await expect.poll(() => ui.locator('body').textContent()).toMatch(/format|match|valid/i); // inline validation, no request
    await field.fill('sk_live_wrong999');
    await ui.getByRole('button', { name: 'Connect' }).click();
    await expect.poll(() => ui.locator('body').textContent(), { timeout: 10_000 }).toMatch(/refused/i); // the provider said no
    await page.screenshot({ path: new URL('../test-artifacts/screenshots/connect-ui-api-key-refused.png', import.meta.url).pathname });
    await field.fill('sk_live_valid123');
    await ui.getByRole('button', { name: 'Connect' }).click();
    await expect.poll(() => events(page), { timeout: 10_000 }).toContainEqual({ type: 'connect', payload: { providerConfigKey: 'key-api', connectionId: 'ui-key' } });
    expect(await node.getToken('key-api', 'ui-key')).toEqual({ type: 'API_KEY', apiKey: 'sk_live_valid123' });
    await page.close();
  });
});

describe('connect links', () => {
  it('the connect_link page runs the Connect UI for its session on its own, and forgets the token from the address bar', async () => {
    const { data } = await node.createConnectSession({ end_user: { id: 'ui-link' }, allowed_integrations: ['sandbox', 'key-api'] });
    const page = await browser.newPage();
    await page.goto(data.connect_link);
    await page.getByRole('button', { name: /Keyway Sandbox/ }).click();
    expect(page.url()).not.toContain(data.token);
    const [popup] = await Promise.all([page.waitForEvent('popup'), page.getByRole('button', { name: 'Connect' }).click()]);
    await popup.click('#approve');
    await expect.poll(async () => (await node.listConnections({ connectionId: 'ui-link' })).connections.length, { timeout: 15_000 }).toBe(1);
    expect((await node.getConnection('sandbox', 'ui-link')).end_user).toMatchObject({ id: 'ui-link' });
    await page.close();
  });
});

