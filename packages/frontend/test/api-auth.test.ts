import { beforeAll, describe, expect, it } from 'vitest';
import Nango from '../src/index.ts';
import { HOST, tick, useFakes } from './fakes.ts';

/** `auth(key, id, { credentials })`: no popup; the credentials go to the route of their kind. */
describe('credentials without a popup', () => {
  const fakes = useFakes();
  // The SDK loads this code on demand; loaded once here, its import resolves without real I/O under fake timers.
  beforeAll(() => import('../src/api-auth.ts'));

  it.each([
    ['API key', { apiKey: 'k1' }, '/api-auth/api-key/crm'],
    ['Basic', { username: 'u', password: 'p' }, '/api-auth/basic/crm'],
    // Nango's marker: two-step credentials name their type (their fields are the template's own).
    ['two-step', { type: 'TWO_STEP', username: 'u', password: 'p', client_id: 'c' }, '/auth/two-step/crm'],
  ] as const)('%s credentials are posted to the route of their kind', async (_n, credentials, path) => {
    const nango = new Nango({ host: HOST, connectSessionToken: 'cst_1' });
    const done = nango.auth('crm', { credentials: credentials as never, params: { site: 'acme' } });
    await tick();
    const call = fakes().calls[0]!;
    expect(call.url).toBe(`${HOST}${path}?connect_session_token=cst_1&params[site]=acme`);
    expect(JSON.parse(String(call.init.body))).toEqual(credentials);
    expect(fakes().opened).toHaveLength(0);
    call.respond(200, { providerConfigKey: 'crm', connectionId: 'u1' });
    await expect(done).resolves.toEqual({ providerConfigKey: 'crm', connectionId: 'u1' });
  });
});
