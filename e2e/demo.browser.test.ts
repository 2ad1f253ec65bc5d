import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoStack } from '../examples/demo/server/stack.ts';
import { Nango as KeywayNode } from '../packages/node/src/index.ts';
import { launchChromium } from './support/chromium.ts';

/** What a person does with the demo: open it, click Connect, approve in the popup, see the connection. */
let browser: Browser;
let stack: Awaited<ReturnType<typeof startDemoStack>>;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'keyway-demo-'));
  [stack, browser] = await Promise.all([startDemoStack({ demoPort: 0, keywayPort: 0, sandboxPort: 0, dataDir, quiet: true }), launchChromium()]);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('the demo in Chromium', () => {
  it('connects the sandbox through the popup and shows a live token read by its backend', async () => {
    const page = await browser.newPage();
    await page.goto(stack.demoUrl);
    const connect = page.getByTestId('connect-keyway-sandbox');
    await connect.waitFor();
    const [popup] = await Promise.all([page.waitForEvent('popup'), connect.click()]);
    await popup.click('#approve');

    await expect.poll(() => page.getByTestId('status-keyway-sandbox').textContent(), { timeout: 15_000 }).toMatch(/\bconnected\b/);
    const tokenView = await page.getByTestId('token-keyway-sandbox').textContent();
    expect(tokenView).toMatch(/…/); // masked

    // The backend's getToken returns a token the sandbox accepts; the page shows only its mask.
    const token = (await new KeywayNode({ host: stack.keywayUrl, secretKey: stack.secretKey }).getToken('keyway-sandbox', 'demo-user')) as string;
    expect(tokenView).not.toContain(token);
    expect(tokenView).toContain(token.slice(0, 4));
    const me = await fetch(`${stack.sandboxUrl}/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    await page.close();
  });
});
