import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (never a downloaded browser), headless, with the flags this machine needs. */
export function chromiumPath(): string {
  const path = [process.env.KEYWAY_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p));
  if (!path) throw new Error('Chromium not found: apt-get install -y chromium (or set KEYWAY_CHROMIUM)');
  return path;
}

/** `popupBlocking: true` keeps Chromium's popup blocker on (Playwright turns it off by default). */
export function launchChromium(options: { popupBlocking?: boolean } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    ...(options.popupBlocking && { ignoreDefaultArgs: ['--disable-popup-blocking'] }),
  });
}
