import { describe, expect, it } from 'vitest';
import { parseRoute, paths } from '../src/router.ts';

describe('routes', () => {
  it('reads every view from the address', () => {
    expect(parseRoute('/dashboard/', '')).toEqual({ name: 'home' });
    expect(parseRoute('/dashboard', '')).toEqual({ name: 'home' });
    expect(parseRoute('/dashboard/sign-in', '')).toEqual({ name: 'sign-in' });
    expect(parseRoute('/dashboard/integrations', '')).toEqual({ name: 'integrations' });
    expect(parseRoute('/dashboard/integrations/new', '?provider=github')).toEqual({ name: 'new-integration', provider: 'github' });
    expect(parseRoute('/dashboard/integrations/my.key', '')).toEqual({ name: 'integration', key: 'my.key' });
    expect(parseRoute('/dashboard/connections/gh/a%7Cb%3Ac', '')).toEqual({ name: 'connection', key: 'gh', id: 'a|b:c' });
    expect(parseRoute('/dashboard/settings', '')).toEqual({ name: 'settings' });
    expect(parseRoute('/dashboard/connections', '?integration=gh&status=bogus&search=x&page=0')).toEqual({
      name: 'connections',
      query: { integration: 'gh', status: '', search: 'x', page: 0 },
    });
    expect(parseRoute('/dashboard/connections', '?page=4&status=exhausted')).toMatchObject({ query: { page: 3, status: 'exhausted' } });
    for (const p of ['/dashboard/nope', '/dashboard/settings/x', '/dashboard/connections/a/b/c', '/dashboard/connections/%E0%A4%A', '/elsewhere']) {
      expect(parseRoute(p, '')).toEqual({ name: 'not-found' });
    }
  });

  it('writes addresses that read back the same', () => {
    const url = new URL(paths.connection('gh', 'user@example.com|1'), 'http://x');
    expect(parseRoute(url.pathname, url.search)).toEqual({ name: 'connection', key: 'gh', id: 'user@example.com|1' });
    const q = new URL(paths.connections({ integration: 'gh', status: 'ok', search: 'a b', page: 2 }), 'http://x');
    expect(parseRoute(q.pathname, q.search)).toEqual({ name: 'connections', query: { integration: 'gh', status: 'ok', search: 'a b', page: 2 } });
    expect(paths.connections()).toBe('/dashboard/connections');
    expect(paths.newIntegration('github')).toBe('/dashboard/integrations/new?provider=github');
  });
});
