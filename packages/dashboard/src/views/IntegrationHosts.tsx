import { useId, useState } from 'preact/hooks';
import { useApp, useMounted } from '../context.ts';
import { TextField } from '../components/ui.tsx';
import type { Integration, IntegrationInput, Provider } from '../types.ts';

/** `gitlab.acme.com, *.acme.com:8443` (commas, spaces or new lines) -> a list. */
export const splitHosts = (text: string): string[] => text.split(/[\s,]+/).map((h) => h.trim()).filter(Boolean);

/**
 * The PATCH body of the hosts form, or undefined when nothing changed. Fixed values of other
 * (non-host) inputs, set through the API, are kept: the server replaces `connection_config` whole.
 */
export function hostsPatch(form: { fixed: Record<string, string>; allowed: string }, integration: Integration, hostInputs: readonly string[]): IntegrationInput | undefined {
  const allowed = splitHosts(form.allowed);
  const body: IntegrationInput = inputsPatch(form.fixed, integration, hostInputs) ?? {};
  if (allowed.join(',') !== integration.allowed_hosts.join(',')) body.allowed_hosts = allowed;
  return Object.keys(body).length > 0 ? body : undefined;
}

/** `{ connection_config }` with the named inputs set to the typed values (empty: removed), the others kept; undefined when unchanged. */
export function inputsPatch(values: Record<string, string>, integration: Integration, names: readonly string[]): IntegrationInput | undefined {
  const config: Record<string, string> = {};
  for (const [k, v] of Object.entries(integration.connection_config)) if (!names.includes(k)) config[k] = v;
  for (const k of names) if (values[k]?.trim()) config[k] = values[k]!.trim();
  return JSON.stringify(config) !== JSON.stringify(integration.connection_config) ? { connection_config: config } : undefined;
}

/**
 * For templates whose URLs take a host from the end user (self-managed GitLab, Keycloak, a tenant
 * subdomain): fix the host on the integration, or list the hosts its client secret may be sent to.
 */
export function HostsForm({ integration, template, onSaved }: { integration: Integration; template: Provider; onSaved(i: Integration): void }) {
  const { api, announce } = useApp();
  const mounted = useMounted();
  const id = useId();
  const inputs = template.host_inputs.filter((name) => Object.hasOwn(template.connection_config, name) && !template.connection_config[name]!.from_integration);
  const initial = () => ({ fixed: Object.fromEntries(inputs.map((n) => [n, integration.connection_config[n] ?? ''])), allowed: integration.allowed_hosts.join(', ') });
  const [form, setForm] = useState(initial);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    const body = hostsPatch(form, integration, inputs);
    if (!body) {
      announce('Nothing to save: no field was changed.');
      return;
    }
    setError(null);
    setBusy(true);
    try {
      const updated = await api.updateIntegration(integration.unique_key, body);
      announce('Hosts saved.', 'success');
      if (mounted.current) {
        onSaved(updated);
        setForm({ fixed: Object.fromEntries(inputs.map((n) => [n, updated.connection_config[n] ?? ''])), allowed: updated.allowed_hosts.join(', ') });
      }
    } catch (err) {
      if (mounted.current) setError(err instanceof Error ? err.message : String(err));
    } finally {
      if (mounted.current) setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Hosts</h2>
      <p>
        Your users type the provider's host for this integration. Fix it here, so they cannot change it, or list the hosts the client secret may
        be sent to: a host they type that is not listed is refused.
      </p>
      <form onSubmit={submit} noValidate data-testid="hosts-form">
        {inputs.map((name) => {
          const input = template.connection_config[name]!;
          return (
            <TextField
              key={name}
              label={`Fixed ${input.title}`}
              value={form.fixed[name] ?? ''}
              onValue={(v) => setForm((f) => ({ ...f, fixed: { ...f.fixed, [name]: v } }))}
              hint={`Empty: your users type it${input.example ? ` (for example ${input.example})` : ''}.`}
              autoComplete="off"
              spellcheck={false}
              data-testid={`fixed-${name}`}
            />
          );
        })}
        <TextField
          label="Allowed hosts"
          value={form.allowed}
          onValue={(v) => setForm((f) => ({ ...f, allowed: v }))}
          hint="Comma-separated: gitlab.acme.com, *.acme.com (any name under it), gitlab.acme.com:8443 (with a port)."
          autoComplete="off"
          spellcheck={false}
          data-testid="allowed-hosts"
        />
        {error && (
          <p class="field-error" role="alert" data-testid="hosts-error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy} data-testid="save-hosts">
          {busy ? 'Saving…' : 'Save hosts'}
        </button>
      </form>
    </section>
  );
}

/**
 * Inputs only the integration sets (`from_integration`): values of the app at the provider, such as eBay's RuName
 * or Amazon's application id. A flow is refused until each required one is set.
 */
export function AppInputsForm({ integration, template, onSaved }: { integration: Integration; template: Provider; onSaved(i: Integration): void }) {
  const { api, announce } = useApp();
  const mounted = useMounted();
  const id = useId();
  const inputs = Object.entries(template.connection_config).filter(([, input]) => input.from_integration).map(([name]) => name);
  const [values, setValues] = useState(() => Object.fromEntries(inputs.map((n) => [n, integration.connection_config[n] ?? ''])));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    const body = inputsPatch(values, integration, inputs);
    if (!body) {
      announce('Nothing to save: no field was changed.');
      return;
    }
    setError(null);
    setBusy(true);
    try {
      const updated = await api.updateIntegration(integration.unique_key, body);
      announce('App settings saved.', 'success');
      if (mounted.current) onSaved(updated);
    } catch (err) {
      if (mounted.current) setError(err instanceof Error ? err.message : String(err));
    } finally {
      if (mounted.current) setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>App settings</h2>
      <p>Values of your app at the provider. Your users never see them; connecting is refused until they are set.</p>
      <form onSubmit={submit} noValidate data-testid="app-inputs-form">
        {inputs.map((name) => {
          const input = template.connection_config[name]!;
          return (
            <TextField
              key={name}
              label={input.title}
              value={values[name] ?? ''}
              onValue={(v) => setValues((f) => ({ ...f, [name]: v }))}
              hint={`${input.description ?? ''}${input.example ? ` For example ${input.example}.` : ''}`.trim() || undefined}
              autoComplete="off"
              spellcheck={false}
              data-testid={`app-input-${name}`}
            />
          );
        })}
        {error && (
          <p class="field-error" role="alert" data-testid="app-inputs-error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy} data-testid="save-app-inputs">
          {busy ? 'Saving…' : 'Save app settings'}
        </button>
      </form>
    </section>
  );
}
