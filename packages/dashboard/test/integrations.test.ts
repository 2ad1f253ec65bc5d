// @vitest-environment happy-dom
import { fireEvent, screen, within } from '@testing-library/preact';
import { describe, expect, it } from 'vitest';
import { CSRF, INTEGRATION, byTestId, click, flush, heading, mount, pending, statusText } from './harness.ts';

describe('integrations list', () => {
  it('shows a loading state', async () => {
    await mount('/dashboard/integrations', { 'GET /integrations': pending });
    expect(heading().textContent).toBe('Integrations');
    expect(byTestId('loading').textContent).toBe('Loading integrations…');
  });

  it('shows an empty state that points to the catalogue', async () => {
    const t = await mount('/dashboard/integrations', { 'GET /integrations': () => [200, { data: [] }] });
    expect(byTestId('empty').textContent).toMatch(/No integrations yet/);
    await click(byTestId('new-integration'));
    expect(t.nav.current().pathname).toBe('/dashboard/integrations/new');
    expect(heading().textContent).toBe('New integration');
  });

  it('shows the server\'s error with a retry', async () => {
    let fail = true;
    await mount('/dashboard/integrations', {
      'GET /integrations': () => (fail ? [500, { error: { code: 'server_error', message: 'The store is unavailable' } }] : [200, { data: [INTEGRATION] }]),
    });
    expect(screen.getByRole('alert').textContent).toMatch(/The integrations could not be loaded\. The store is unavailable/);
    fail = false;
    await click(screen.getByRole('button', { name: 'Try again' }));
    expect(screen.getByTestId('integration-github-prod')).toBeTruthy();
  });

  it('lists each integration with its key, provider and auth mode, linking to it', async () => {
    const t = await mount('/dashboard/integrations', {
      'GET /integrations': () => [200, { data: [INTEGRATION, { ...INTEGRATION, unique_key: 'attio', provider: 'attio-api-key', display_name: 'Attio' }] }],
    });
    const row = within(byTestId('integration-github-prod'));
    expect(row.getByText('github-prod')).toBeTruthy();
    expect(row.getByText('OAuth 2.0')).toBeTruthy();
    expect(within(byTestId('integration-attio')).getByText('API key')).toBeTruthy();
    expect(screen.getByText('2 integrations')).toBeTruthy();
    const link = row.getByRole('link', { name: 'GitHub' });
    expect(link.getAttribute('href')).toBe('/dashboard/integrations/github-prod');
    await click(link);
    expect(t.nav.current().pathname).toBe('/dashboard/integrations/github-prod');
    expect(heading().textContent).toBe('GitHub');
    expect(document.activeElement).toBe(heading());
    expect(screen.getByRole('link', { name: 'Integrations', current: 'page' })).toBeTruthy();
  });
});

describe('deleting an integration', () => {
  it('asks first, traps focus in the dialog, closes on Escape, then deletes and goes back to the list', async () => {
    let deleted = false;
    const t = await mount('/dashboard/integrations/github-prod', {
      'DELETE /integrations/:key': () => {
        deleted = true;
        return [200, { success: true }];
      },
      'GET /integrations': () => [200, { data: deleted ? [] : [INTEGRATION] }],
    });
    const opener = byTestId('delete');
    opener.focus();
    await click(opener);
    const dialog = screen.getByRole('dialog');
    expect(dialog.getAttribute('aria-modal')).toBe('true');
    expect(within(dialog).getByRole('heading').textContent).toBe('Delete “GitHub”?');
    expect(document.activeElement).toBe(within(dialog).getByRole('button', { name: 'Cancel' }));

    // Tab from the last button wraps to the first, Shift+Tab from the first to the last.
    const confirm = byTestId('confirm');
    confirm.focus();
    fireEvent.keyDown(confirm, { key: 'Tab' });
    expect(document.activeElement).toBe(byTestId('cancel'));
    fireEvent.keyDown(byTestId('cancel'), { key: 'Tab', shiftKey: true });
    expect(document.activeElement).toBe(confirm);

    fireEvent.keyDown(dialog, { key: 'Escape' });
    await flush();
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(document.activeElement).toBe(opener);
    expect(t.requests.some((r) => r.method === 'DELETE')).toBe(false);

    await click(byTestId('delete'));
    await click(byTestId('confirm'));
    const del = t.requests.find((r) => r.method === 'DELETE')!;
    expect(del.path).toBe('/integrations/github-prod');
    expect(del.headers['X-Keyway-CSRF']).toBe(CSRF);
    expect(t.nav.current().pathname).toBe('/dashboard/integrations');
    expect(statusText()).toBe('Integration “github-prod” deleted.');
    expect(byTestId('empty')).toBeTruthy();
  });

  it('keeps the dialog open with the server\'s message when the delete fails', async () => {
    await mount('/dashboard/integrations/github-prod', {
      'DELETE /integrations/:key': () => [500, { error: { code: 'server_error', message: 'Disk full' } }],
    });
    await click(byTestId('delete'));
    await click(byTestId('confirm'));
    expect(within(screen.getByRole('dialog')).getByRole('alert').textContent).toBe('Disk full');
    expect((byTestId('confirm') as HTMLButtonElement).disabled).toBe(false);
  });

  it('says so when the integration does not exist', async () => {
    await mount('/dashboard/integrations/nope');
    expect(screen.getByRole('alert').textContent).toMatch(/No such integration\. There is no integration "nope"/);
  });
});
