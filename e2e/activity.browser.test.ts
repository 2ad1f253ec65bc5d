import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Nango as KeywayNode } from '../packages/node/src/index.ts';
import { TestBrowser } from '../packages/server/test/support/browser.ts';
import { SECRET_KEY, oauth2, sessionToken } from '../packages/server/test/support/keyway.ts';
import { SANDBOX_CLIENT, startSandboxStack } from '../packages/server/test/support/sandbox-stack.ts';
import { launchChromium } from './support/chromium.ts';

/**
 * The dashboard's Activity page in Chromium against the real server and sandbox provider: a flow, a
 * failed flow, a proxied call, a refresh failure and a refused webhook each show, with a screenshot.
 */
const SCREENSHOTS = fileURLToPath(new URL('../test-artifacts/screenshots/', import.meta.url));
let browser: Browser;
let stack: Awaited<ReturnType<typeof startSandboxStack>>;
let receiver: { url: string; close(): Promise<void> };
let page: Page;
const text = () => page.evaluate(() => document.body.innerText);

beforeAll(async () => {
  await mkdir(SCREENSHOTS, { recursive: true });
  const server = createServer((req, res) => req.resume().on('end', () => res.writeHead(400).end()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  receiver = {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks`,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
  [stack, browser] = await Promise.all([startSandboxStack({ keyway: { config: { webhookUrl: receiver.url } } }), launchChromium()]);
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });

  const client = new KeywayNode({ host: stack.kw.url, secretKey: SECRET_KEY });
  await client.createIntegration({ unique_key: 'sandbox', provider: 'keyway-sandbox', credentials: { type: 'OAUTH2', client_id: SANDBOX_CLIENT.clientId, client_secret: SANDBOX_CLIENT.clientSecret } });
  for (const [id, button] of [['ada', 'approve'], ['bob', 'deny']] as const) {
    const b = new TestBrowser();
    await b.submit(await b.follow(`${stack.kw.url}/oauth/connect/sandbox?connect_session_token=${await sessionToken(stack.kw.url, id)}`), button);
  }
  await client.get({ endpoint: new URL(stack.sandbox.userinfoUrl).pathname, providerConfigKey: 'sandbox', connectionId: 'ada' });
  const stored = (await stack.kw.keyway.store.getConnection('sandbox', 'ada'))!;
  await fetch(stack.sandbox.revocationUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: oauth2(stored).refresh_token!, client_id: SANDBOX_CLIENT.clientId, client_secret: SANDBOX_CLIENT.clientSecret }),
  });
  await expect(client.getToken('sandbox', 'ada', true)).rejects.toMatchObject({ code: 'refresh_failed' });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await receiver?.close();
});

describe('the Activity page', () => {
  it('shows each flow, failure, proxied call, refresh and webhook, newest first, and filters them', async () => {
    await page.goto(`${stack.kw.url}/dashboard/`);
    await page.getByTestId('secret-key').fill(SECRET_KEY);
    await page.getByTestId('sign-in').click();
    await page.getByTestId('new-integration').waitFor();
    await page.getByRole('link', { name: 'Activity' }).click();
    await page.getByTestId('activity').waitFor();
    // Webhooks are delivered in the background: reload until the refused ones are logged.
    await expect.poll(async () => {
      await page.getByTestId('activity-reload').click();
      return text();
    }, { timeout: 15_000 }).toMatch(/Webhook[\s\S]*http_400/);
    const shown = await text();
    for (const expected of ['Connection created', 'access_denied (provider: access_denied)', `GET ${new URL(stack.sandbox.userinfoUrl).pathname} → 200`, 'refresh_failed (provider: invalid_grant)', 'Connect flow started']) {
      expect(shown).toContain(expected);
    }
    expect(shown).not.toContain(SANDBOX_CLIENT.clientSecret);
    await page.screenshot({ path: `${SCREENSHOTS}activity-01-all.png`, fullPage: true });

    await page.getByTestId('activity-outcome').selectOption('failure');
    await expect.poll(() => page.url()).toContain('outcome=failure');
    await expect.poll(async () => (await text()).includes('Connection created')).toBe(false);
    expect(await text()).toContain('refresh_failed');
    await page.screenshot({ path: `${SCREENSHOTS}activity-02-failures.png`, fullPage: true });
  });

  it('a connection\'s Activity tab shows its own entries', async () => {
    await page.goto(`${stack.kw.url}/dashboard/connections/sandbox/ada`);
    await page.getByTestId('tab-activity').click();
    await page.getByTestId('activity').waitFor();
    await expect.poll(text).toContain('refresh_failed');
    expect(await text()).not.toContain('access_denied');
    await page.screenshot({ path: `${SCREENSHOTS}activity-03-connection-tab.png`, fullPage: true });
  });
});
