import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECRET_KEY } from '../packages/server/test/support/keyway.ts';
import { SANDBOX_CLIENT, startSandboxStack } from '../packages/server/test/support/sandbox-stack.ts';
import { launchChromium } from './support/chromium.ts';

/**
 * The dashboard in Chromium against the real server and sandbox provider: sign in, create an
 * integration from the catalogue, connect a sandbox account through "Try it", see it in the list,
 * force-refresh it, delete it. A screenshot of each page goes to test-artifacts/screenshots/.
 */
export const SCREENSHOTS = fileURLToPath(new URL('../test-artifacts/screenshots/', import.meta.url));
let browser: Browser;
let stack: Awaited<ReturnType<typeof startSandboxStack>>;
let page: Page;
let shot = 0;
/** What the page shows: its text and the values of its fields (a copyable URL sits in a read-only input). */
const shown = () => page.evaluate(() => document.body.innerText + [...document.querySelectorAll('input, textarea')].map((e) => (e as HTMLInputElement).value).join('\n'));
const screenshot = async (name: string) => page.screenshot({ path: `${SCREENSHOTS}dashboard-${String(++shot).padStart(2, '0')}-${name}.png`, fullPage: true });

beforeAll(async () => {
  await mkdir(SCREENSHOTS, { recursive: true });
  // The default configuration: "Try it" makes a connect session through the backend API (no public key).
  [stack, browser] = await Promise.all([startSandboxStack(), launchChromium()]);
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe('the dashboard', () => {
  it('signs in with the secret key, and keeps no key in the browser', async () => {
    await page.goto(`${stack.kw.url}/dashboard/`);
    await page.getByTestId('secret-key').fill('not-the-key');
    await page.getByTestId('sign-in').click();
    await expect.poll(() => page.getByTestId('sign-in-error').textContent()).toMatch(/not valid/);
    await screenshot('sign-in-error');
    await page.getByTestId('secret-key').fill(SECRET_KEY);
    await page.getByTestId('sign-in').click();
    await page.getByTestId('new-integration').waitFor();
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie)).not.toContain(SECRET_KEY);
    const cookie = (await page.context().cookies()).find((c) => c.name === 'keyway_dashboard')!;
    expect([cookie.httpOnly, cookie.sameSite]).toEqual([true, 'Strict']);
    await screenshot('integrations-empty');
  });

  it('creates an integration from the catalogue', async () => {
    await page.getByTestId('new-integration').click();
    await page.getByTestId('catalogue-search').fill('sandbox');
    await screenshot('catalogue');
    await page.getByTestId('template-keyway-sandbox').click();
    await page.getByTestId('unique-key').fill('sandbox');
    await page.getByTestId('client-id').fill(SANDBOX_CLIENT.clientId);
    await page.getByTestId('client-secret').fill(SANDBOX_CLIENT.clientSecret);
    await screenshot('create-form');
    await page.getByTestId('create').click();
    await page.getByTestId('try-it').waitFor();
    expect(await shown()).toContain(`${stack.kw.url}/oauth/callback`);
    expect(await shown()).not.toContain(SANDBOX_CLIENT.clientSecret);
    await screenshot('integration');
  });

  it('connects a sandbox account through Try it', async () => {
    await page.getByTestId('try-connection-id').fill('dash-user');
    const [popup] = await Promise.all([page.waitForEvent('popup'), page.getByTestId('try-it').click()]);
    await popup.click('#approve');
    await expect.poll(() => page.getByTestId('try-result').textContent(), { timeout: 15_000 }).toMatch(/dash-user/);
    await screenshot('try-it-connected');
  });

  it('lists the connection, force-refreshes it, and deletes it', async () => {
    await page.goto(`${stack.kw.url}/dashboard/connections`);
    const row = page.getByTestId('connection-sandbox-dash-user');
    await row.waitFor();
    await screenshot('connections');
    await row.getByRole('link').first().click();
    await page.getByTestId('force-refresh').waitFor();
    const before = (await stack.kw.keyway.store.getConnection('sandbox', 'dash-user'))!;
    await page.getByTestId('force-refresh').click();
    await expect.poll(() => page.getByTestId('refresh-result').textContent(), { timeout: 15_000 }).toMatch(/expires|Refreshed|refreshed/i);
    const after = (await stack.kw.keyway.store.getConnection('sandbox', 'dash-user'))!;
    expect(after.updated_at).not.toBe(before.updated_at);
    expect(await shown()).not.toContain((after.credentials as { access_token: string }).access_token);
    await screenshot('connection-refreshed');
    await page.getByTestId('delete').click();
    await page.getByTestId('confirm').click();
    await expect.poll(async () => stack.kw.keyway.store.getConnection('sandbox', 'dash-user')).toBeUndefined();
    await screenshot('connection-deleted');
  });

  it('shows the settings, and signs out', async () => {
    await page.goto(`${stack.kw.url}/dashboard/settings`);
    await expect.poll(() => shown()).toContain(stack.kw.config.publicKey);
    await page.setViewportSize({ width: 375, height: 800 });
    await screenshot('settings-375px');
    await page.getByTestId('sign-out').click();
    await page.getByTestId('sign-in-form').waitFor();
  });
});
