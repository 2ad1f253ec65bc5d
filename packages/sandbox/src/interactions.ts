// The sandbox's one interaction page: login and consent together.
//
// oidc-provider redirects the browser from /auth to /interaction/<uid> when the request needs the
// end-user (no session yet, or consent missing, or prompt=consent). The page shows the client, the
// requested scopes and the demo user, with two plain form POSTs:
//   POST /interaction/<uid>/approve  logs the demo user in and grants everything requested
//   POST /interaction/<uid>/deny     ends the request with error=access_denied
// Both answer 303 to /auth/<uid>, from where oidc-provider redirects to the client's redirect_uri.
//
// CSRF: none beyond what oidc-provider gives. The interaction is found through its signed,
// httpOnly, SameSite=Lax interaction cookie (scoped to /interaction/<uid>), and the uid in the URL
// must match it. A cross-site page can neither read the uid nor have the cookie sent with a
// cross-site POST, which is enough for a local development server with a single demo user.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import { DEMO_USER } from './account.ts';
import { errorPage, escapeHtml, layout, PAGE_CSP } from './html.ts';

export const INTERACTION_PREFIX = '/interaction/';

type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

const SCOPE_DESCRIPTIONS: Readonly<Record<string, string>> = {
  openid: 'Sign you in with your user id',
  offline_access: 'Stay connected while you are away (refresh token)',
  profile: 'Your name',
  email: 'Your email address',
  'contacts:read': 'Read your contacts',
  'contacts:write': 'Create, change and delete your contacts',
};

const ROUTE = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(approve|deny))?$/;

function scopesOf(value: unknown): string[] {
  return typeof value === 'string' ? [...new Set(value.split(' ').filter(Boolean))] : [];
}

/** Claim names asked for with the OIDC `claims` request parameter. */
function claimsParameterNames(value: unknown): string[] {
  if (typeof value !== 'string') return [];
  try {
    const parsed: unknown = JSON.parse(value);
    if (parsed === null || typeof parsed !== 'object') return [];
    const names = new Set<string>();
    for (const part of ['userinfo', 'id_token'] as const) {
      const members = (parsed as Record<string, unknown>)[part];
      if (members !== null && typeof members === 'object') {
        for (const name of Object.keys(members)) names.add(name);
      }
    }
    return [...names];
  } catch {
    return [];
  }
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Security-Policy', PAGE_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.end(html);
}

/** Reads and discards a small request body (the forms carry nothing the server needs). */
async function drain(req: IncomingMessage, limit = 16 * 1024): Promise<void> {
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new RangeError('request body too large');
  }
}

export function renderInteractionPage(interaction: Interaction, supportedScopes: ReadonlySet<string>): string {
  const { uid, params } = interaction;
  const clientId = typeof params.client_id === 'string' ? params.client_id : '';
  const scopes = scopesOf(params.scope);
  const items = scopes.length === 0
    ? '<li class="muted">No scopes requested</li>'
    : scopes.map((scope) => {
      const description = SCOPE_DESCRIPTIONS[scope]
        ?? (supportedScopes.has(scope) ? '' : 'not supported by the sandbox: it will not be granted');
      return `<li><code>${escapeHtml(scope)}</code>${description ? ` <span class="muted">${escapeHtml(description)}</span>` : ''}</li>`;
    }).join('\n');
  const action = (what: string) => `/interaction/${encodeURIComponent(uid)}/${what}`;

  return layout('Keyway Sandbox', `<h1>Authorize <code id="client-id">${escapeHtml(clientId)}</code></h1>
<div class="user">
  <div class="avatar" aria-hidden="true">DU</div>
  <div><div id="user-name">${escapeHtml(DEMO_USER.name)}</div>
  <div class="muted"><span id="user-email">${escapeHtml(DEMO_USER.email)}</span> · account <code>${escapeHtml(DEMO_USER.accountId)}</code></div></div>
</div>
<p>The application asks for:</p>
<ul id="scopes">
${items}
</ul>
<div class="actions">
  <form method="post" action="${escapeHtml(action('approve'))}" id="approve-form">
    <button type="submit" id="approve" name="decision" value="approve">Approve</button>
  </form>
  <form method="post" action="${escapeHtml(action('deny'))}" id="deny-form">
    <button type="submit" id="deny" name="decision" value="deny">Deny</button>
  </form>
</div>
<p class="muted">A local development server: no password, everything requested is granted on Approve.</p>`);
}

export interface InteractionHandlerOptions {
  autoApprove: boolean;
  supportedScopes: ReadonlySet<string>;
}

/**
 * Returns a handler for the /interaction/* routes. It answers every request under the prefix and
 * never lets an error escape (it renders an error page instead).
 */
export function createInteractionHandler(provider: Provider, options: InteractionHandlerOptions) {
  async function approve(req: IncomingMessage, res: ServerResponse, interaction: Interaction): Promise<void> {
    const accountId = DEMO_USER.accountId;
    const clientId = String(interaction.params.client_id);

    let grant = interaction.grantId === undefined ? undefined : await provider.Grant.find(interaction.grantId);
    if (grant === undefined || grant.accountId !== accountId || grant.clientId !== clientId) {
      grant = new provider.Grant({ accountId, clientId });
    }

    // Everything requested that the server knows: oidc-provider already removed offline_access
    // from params.scope unless prompt=consent was sent.
    const scopes = scopesOf(interaction.params.scope).filter((scope) => options.supportedScopes.has(scope));
    if (scopes.length > 0) grant.addOIDCScope(scopes);

    const details = interaction.prompt.details;
    const claims = new Set(claimsParameterNames(interaction.params.claims));
    if (Array.isArray(details.missingOIDCClaims)) {
      for (const claim of details.missingOIDCClaims) if (typeof claim === 'string') claims.add(claim);
    }
    if (claims.size > 0) grant.addOIDCClaims(claims);

    // Only present when resource indicators are in use (the sandbox defines no resource server).
    const resourceScopes = details.missingResourceScopes;
    if (resourceScopes !== null && typeof resourceScopes === 'object') {
      for (const [indicator, list] of Object.entries(resourceScopes)) {
        if (Array.isArray(list)) grant.addResourceScope(indicator, list.map(String));
      }
    }

    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  }

  async function deny(req: IncomingMessage, res: ServerResponse): Promise<void> {
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'The end-user denied the request' },
      { mergeWithLastSubmission: false },
    );
  }

  return async function handleInteraction(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    try {
      const match = ROUTE.exec(pathname);
      if (match === null) {
        sendHtml(res, 404, errorPage('not_found', 'No such interaction route'));
        return;
      }
      const [, uid, action] = match;
      const method = req.method ?? 'GET';
      const expected = action === undefined ? 'GET' : 'POST';
      if (method !== expected && !(expected === 'GET' && method === 'HEAD')) {
        res.setHeader('Allow', expected);
        sendHtml(res, 405, errorPage('method_not_allowed', `Use ${expected} here`));
        return;
      }
      if (method === 'POST') await drain(req);

      const interaction = await provider.interactionDetails(req, res);
      if (interaction.uid !== uid) {
        sendHtml(res, 400, errorPage('invalid_request', 'This page does not belong to the current authorization request'));
        return;
      }

      if (action === 'approve' || (action === undefined && options.autoApprove && method === 'GET')) {
        await approve(req, res, interaction);
      } else if (action === 'deny') {
        await deny(req, res);
      } else {
        sendHtml(res, 200, renderInteractionPage(interaction, options.supportedScopes));
      }
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof errors.SessionNotFound) {
        sendHtml(res, 400, errorPage('session_not_found', 'The authorization request expired or was already finished. Start again from the application.'));
      } else if (error instanceof RangeError) {
        sendHtml(res, 413, errorPage('invalid_request', error.message));
      } else {
        // The message only: request details (cookies, form fields) are never logged.
        console.error(`keyway-sandbox: interaction failed: ${error instanceof Error ? error.message : String(error)}`);
        sendHtml(res, 500, errorPage('server_error', 'The sandbox failed to handle this interaction'));
      }
    }
  };
}
