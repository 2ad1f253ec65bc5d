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
 * Saving a change of the integration from one of its forms: nothing sent when nothing changed, one request at a
 * time, the server's refusal kept for the form to show, and no state touched once the view is gone.
 */
function useIntegrationPatch(integration: Integration, onSaved: (i: Integration) => void, saved: string) {
  const { api, announce } = useApp();
  const mounted = useMounted();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const save = async (body: IntegrationInput | undefined): Promise<Integration | undefined> => {
    if (busy) return undefined;
    if (!body) {
      announce('Nothing to save: no field was changed.');
      return undefined;
    }
    setError(null);
    setBusy(true);
    try {
      const updated = await api.updateIntegration(integration.unique_key, body);
      announce(saved, 'success');
      if (mounted.current) onSaved(updated);
      return updated;
    } catch (err) {
      if (mounted.current) setError(err instanceof Error ? err.message : String(err));
      return undefined;
    } finally {
      if (mounted.current) setBusy(false);
    }
  };
  return { error, busy, save, mounted };
}

/**
 * For templates whose URLs take a host from the end user (self-managed GitLab, Keycloak, a tenant
 * subdomain): fix the host on the integration, or list the hosts its client secret may be sent to.
 */
export function HostsForm({ integration, template, onSaved }: { integration: Integration; template: Provider; onSaved(i: Integration): void }) {
  const id = useId();
  const inputs = template.host_inputs.filter((name) => Object.hasOwn(template.connection_config, name) && !template.connection_config[name]!.from_integration);
  const formOf = (i: Integration) => ({ fixed: Object.fromEntries(inputs.map((n) => [n, i.connection_config[n] ?? ''])), allowed: i.allowed_hosts.join(', ') });
  const [form, setForm] = useState(() => formOf(integration));
  const { error, busy, save, mounted } = useIntegrationPatch(integration, onSaved, 'Hosts saved.');

  const submit = async (e: Event) => {
    e.preventDefault();
    const updated = await save(hostsPatch(form, integration, inputs));
    if (updated && mounted.current) setForm(formOf(updated));
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
  const id = useId();
  const inputs = Object.entries(template.connection_config).filter(([, input]) => input.from_integration).map(([name]) => name);
  const [values, setValues] = useState(() => Object.fromEntries(inputs.map((n) => [n, integration.connection_config[n] ?? ''])));
  const { error, busy, save } = useIntegrationPatch(integration, onSaved, 'App settings saved.');

  const submit = async (e: Event) => {
    e.preventDefault();
    await save(inputsPatch(values, integration, inputs));
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
