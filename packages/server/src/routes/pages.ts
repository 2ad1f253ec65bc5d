import { randomBytes } from 'node:crypto';
import type { Response } from 'express';
import type { FlowResult } from '../store/types.ts';

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** JSON safe inside a <script> element. */
const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

export interface PageContent {
  readonly title: string;
  readonly message: string;
  readonly ok: boolean;
  /** Shown small, for support: the error code. */
  readonly code?: string;
  /** The message for the SDK's opener window, and the one origin allowed to receive it. */
  readonly post?: { readonly origin: string; readonly flowId: string; readonly result: FlowResult };
}

/**
 * The pages the browser sees at the end of a flow: server-rendered, no third-party resources,
 * a nonce-based CSP, never framed, never cached, no referrer (RFC 9700 4.2, 4.16). When the flow
 * came from the SDK, a nonce'd script posts the outcome to exactly the opener's allowed origin
 * (never '*') and closes the window on success; an error stays on screen to be read.
 */
export function sendPage(res: Response, status: number, page: PageContent): void {
  const nonce = randomBytes(16).toString('base64');
  const script = page.post
    ? `<script nonce="${nonce}">(function(){var d=${scriptJson({
        origin: page.post.origin,
        message: { source: 'keyway', flowId: page.post.flowId, ok: page.post.result.status === 'success', ...page.post.result },
      })};try{if(window.opener)window.opener.postMessage(d.message,d.origin)}catch(e){}if(d.message.ok)setTimeout(function(){window.close()},50)})()</script>`
    : '';
  res
    .status(status)
    .set({
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
    })
    .send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)} · Keyway</title>
<style nonce="${nonce}">
body{font:16px/1.5 system-ui,sans-serif;margin:0;display:grid;place-items:center;min-height:100vh;background:#f6f7f9;color:#1d2330}
main{max-width:28rem;padding:2rem;background:#fff;border-radius:12px;box-shadow:0 1px 4px #0002;text-align:center}
h1{font-size:1.25rem;margin:0 0 .5rem}.ok h1{color:#157347}.err h1{color:#b42318}code{font-size:.8rem;color:#667}
</style></head>
<body><main class="${page.ok ? 'ok' : 'err'}" data-outcome="${page.ok ? 'success' : 'error'}"${page.code ? ` data-error-code="${escapeHtml(page.code)}"` : ''}>
<h1>${escapeHtml(page.title)}</h1><p>${escapeHtml(page.message)}</p>${page.code ? `<p><code>${escapeHtml(page.code)}</code></p>` : ''}
</main>${script}</body></html>`);
}
