import { useState } from 'preact/hooks';
import { useApp, useLoad, useMounted } from '../context.ts';
import { CopyField, ErrorBox, Facts, Loading, PageHeading } from '../components/ui.tsx';
import { plural } from '../format.ts';
import type { WebhookTestResult } from '../types.ts';

/** The server's configuration, read-only (it comes from the server's environment), and a test webhook. */
export function SettingsView() {
  const { api, announce } = useApp();
  const mounted = useMounted();
  const load = useLoad(() => api.settings(), []);
  const [test, setTest] = useState<{ kind: 'idle' } | { kind: 'busy' } | { kind: 'done'; result: WebhookTestResult } | { kind: 'error'; message: string }>({ kind: 'idle' });

  const sendTest = async () => {
    setTest({ kind: 'busy' });
    try {
      const result = await api.testWebhook();
      announce(webhookText(result), result.delivered ? 'success' : 'error');
      if (mounted.current) setTest({ kind: 'done', result });
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      announce(`The test webhook could not be sent: ${message}`, 'error');
      if (mounted.current) setTest({ kind: 'error', message });
    }
  };

  return (
    <section>
      <PageHeading>Settings</PageHeading>
      <p class="lead">These come from the server's environment (see the server's README); change them there and restart it.</p>
      {load.state === 'loading' && <Loading>Loading the settings…</Loading>}
      {load.state === 'error' && <ErrorBox title="The settings could not be loaded" error={load.error} retry={load.reload} />}
      {load.state === 'ready' && (
        <>
          <section class="card" aria-labelledby="connect-h">
            <h2 id="connect-h">Connecting</h2>
            <Facts rows={[['Server URL', <span class="mono" data-testid="server-url">{load.data.server_url}</span>]]} />
            <CopyField label="Public key" value={load.data.public_key} testid="copy-public-key" hint="For the browser SDK (new Nango({ publicKey })). It is not a secret." />
            <CopyField
              label="Redirect URL to register at providers"
              value={load.data.callback_url}
              testid="copy-callback"
              hint="The one redirect (callback) URL of every OAuth app you create at a provider."
            />
            <Facts
              rows={[
                [
                  'Allowed origins',
                  load.data.allowed_origins.length === 0 ? (
                    <span data-testid="allowed-origins">None: only this server's own pages may open connect flows (KEYWAY_ALLOWED_ORIGINS).</span>
                  ) : (
                    <ul class="plain" data-testid="allowed-origins">
                      {load.data.allowed_origins.map((o) => (
                        <li key={o} class="mono">
                          {o}
                        </li>
                      ))}
                    </ul>
                  ),
                ],
                [
                  'Connect sessions',
                  <span data-testid="connect-sessions">
                    {load.data.require_connect_session
                      ? 'Required: a flow needs a connect session token from your backend; the public key alone cannot start one.'
                      : 'Optional: the public key can start a flow; your backend may also create connect sessions.'}
                  </span>,
                ],
              ]}
            />
          </section>

          <section class="card" aria-labelledby="webhook-h">
            <h2 id="webhook-h">Webhooks</h2>
            <Facts
              rows={[
                [
                  'Webhook URL',
                  load.data.webhook_url ? (
                    <span class="mono" data-testid="webhook-url">
                      {load.data.webhook_url}
                    </span>
                  ) : (
                    <span data-testid="webhook-url">Not configured (KEYWAY_WEBHOOK_URL).</span>
                  ),
                ],
              ]}
            />
            <button type="button" class="secondary" onClick={sendTest} disabled={!load.data.webhook_url || test.kind === 'busy'} data-testid="test-webhook">
              {test.kind === 'busy' ? 'Sending…' : 'Send a test webhook'}
            </button>
            <div data-testid="webhook-result">
              {test.kind === 'done' && <p class={`result ${test.result.delivered ? 'result-success' : 'result-error'}`}>{webhookText(test.result)}</p>}
              {test.kind === 'error' && <p class="result result-error">The test webhook could not be sent: {test.message}</p>}
            </div>
          </section>

          <section class="card" aria-labelledby="encryption-h">
            <h2 id="encryption-h">Encryption</h2>
            <Facts
              rows={[
                ['Current key id', <span class="mono" data-testid="current-key-id">{load.data.encryption.current_key_id}</span>],
                [
                  'Keys',
                  <span data-testid="key-count">
                    {plural(load.data.encryption.key_ids.length, 'key')}
                    {load.data.encryption.key_ids.length > 1 &&
                      `: the current one encrypts, ${plural(load.data.encryption.key_ids.length - 1, 'older key')} still ${load.data.encryption.key_ids.length === 2 ? 'decrypts' : 'decrypt'}`}
                  </span>,
                ],
              ]}
            />
            <p class="hint">Key ids only: the keys themselves never leave the server.</p>
          </section>
        </>
      )}
    </section>
  );
}

export function webhookText(r: WebhookTestResult): string {
  if (r.delivered) return `Delivered: the endpoint answered HTTP ${r.status}.`;
  if (r.error === 'timeout') return 'Not delivered: the endpoint did not answer in time.';
  if (r.error) return `Not delivered: the endpoint is ${r.error}.`;
  return `Not delivered: the endpoint answered HTTP ${r.status}.`;
}
