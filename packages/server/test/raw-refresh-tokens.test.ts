import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialsFrom } from '../src/connections/credentials.ts';
import { OAuth2Tokens } from '../src/oauth/client.ts';
import { withoutRefreshTokens } from '../src/routes/wire.ts';
import { startKeyway, type TestKeyway } from './support/keyway.ts';

/** GET /connections/:id never returns a refresh token from the raw token response unless refresh_token=true. */
let kw: TestKeyway;
// Slack's oauth.v2.access answer with a user token (the slack-user template's token_path is `authed_user`).
const slackResponse = {
  ok: true,
  app_id: 'A1',
  access_token: 'xoxb-bot',
  refresh_token: 'xoxe-bot-refresh',
  authed_user: { id: 'U1', scope: 'chat:write', access_token: 'xoxp-user', refresh_token: 'xoxe-user-refresh', expires_in: 43200, token_type: 'user' },
  team: { id: 'T1', name: 'Acme' },
  incoming: [{ refresh_token: 'xoxe-in-a-list' }],
};
beforeAll(async () => {
  kw = await startKeyway();
  await kw.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: 'slack', provider: 'slack-user', credentials: { client_id: 'id', client_secret: 'secret' } }) });
  const template = kw.keyway.templates.get('slack-user') as { token_path?: string };
  expect(template.token_path).toBe('authed_user');
  await kw.keyway.connections.upsert({
    providerConfigKey: 'slack',
    connectionId: 'alice',
    provider: 'slack-user',
    credentials: credentialsFrom(new OAuth2Tokens(slackResponse), { tokenPath: template.token_path }),
    connectionConfig: {},
    endUser: null,
  });
});
afterAll(() => kw?.close());

describe('refresh tokens in raw', () => {
  it('strips every refresh token (top level, at the token path, anywhere) without refresh_token=true', async () => {
    const res = await kw.api('/connections/alice?provider_config_key=slack');
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.body)).not.toMatch(/xoxe-/);
    expect(res.body.credentials.access_token).toBe('xoxp-user');
    expect(res.body.credentials.raw.authed_user).toEqual({ id: 'U1', scope: 'chat:write', access_token: 'xoxp-user', expires_in: 43200, token_type: 'user' });
    expect(res.body.credentials.raw.team).toEqual({ id: 'T1', name: 'Acme' });
  });

  it('returns them all with refresh_token=true', async () => {
    const res = await kw.api('/connections/alice?provider_config_key=slack&refresh_token=true');
    expect(res.body.credentials.refresh_token).toBe('xoxe-user-refresh');
    expect(res.body.credentials.raw).toEqual(slackResponse);
  });

  it('leaves the stored response untouched and copies only what it changes', async () => {
    const stored = await kw.keyway.store.getConnection('slack', 'alice');
    expect((stored!.credentials as { raw: unknown }).raw).toEqual(slackResponse);
    const clean = { a: { b: [1, { c: 2 }] } };
    expect(withoutRefreshTokens(clean)).toBe(clean);
    // A provider's own `__proto__` key stays an own key of the copy, never its prototype.
    const odd = JSON.parse('{"__proto__": {"polluted": true}, "refresh_token": "r"}') as Record<string, unknown>;
    const copy = withoutRefreshTokens(odd);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.hasOwn(copy, '__proto__')).toBe(true);
    expect(copy).not.toHaveProperty('refresh_token');
  });
});
