// Self-contained HTML (inline CSS, no external resources) for the sandbox's pages.

export function escapeHtml(value: unknown): string {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** Nothing on these pages loads from elsewhere; styles are inline. */
export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

const STYLE = `
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;
background:#f3f4f6;color:#111827;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{width:100%;max-width:420px;margin:24px;background:#fff;border:1px solid #e5e7eb;border-radius:12px;
padding:28px;box-shadow:0 1px 3px rgba(0,0,0,.06)}
.brand{font-size:12px;font-weight:600;letter-spacing:.08em;text-transform:uppercase;color:#6b7280;margin:0 0 6px}
h1{font-size:20px;margin:0 0 16px}
code{font:13px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f3f4f6;padding:1px 5px;border-radius:4px;
word-break:break-all}
.user{display:flex;gap:12px;align-items:center;padding:12px;border:1px solid #e5e7eb;border-radius:8px;margin:0 0 16px}
.avatar{width:36px;height:36px;border-radius:50%;background:#4f46e5;color:#fff;display:flex;align-items:center;
justify-content:center;font-weight:600}
.muted{color:#6b7280;font-size:13px}
ul{padding:0;margin:0 0 20px;list-style:none}
li{padding:8px 0;border-bottom:1px solid #f3f4f6}
li:last-child{border-bottom:0}
.actions{display:flex;gap:10px}
.actions form{flex:1;margin:0}
button{width:100%;padding:10px 14px;border-radius:8px;font:inherit;font-weight:600;cursor:pointer;border:1px solid}
#approve{background:#4f46e5;border-color:#4f46e5;color:#fff}
#deny{background:#fff;border-color:#d1d5db;color:#111827}
pre{white-space:pre-wrap;word-break:break-word;background:#f9fafb;padding:10px;border-radius:8px}
`;

export function layout(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<p class="brand">Keyway Sandbox</p>
${body}
</main>
</body>
</html>
`;
}

export function errorPage(error: string, description?: string): string {
  return layout(
    'Keyway Sandbox: error',
    `<h1>Something went wrong</h1>
<p><strong>error</strong>: <code id="error">${escapeHtml(error)}</code></p>
${description ? `<pre id="error_description">${escapeHtml(description)}</pre>` : ''}`,
  );
}
