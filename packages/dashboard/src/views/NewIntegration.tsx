import { TemplateLogo } from '../components/TemplateLogo.tsx';
import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, splitScopes } from '../api.ts';
import { useApp, useLoad, useMounted } from '../context.ts';
import { CopyField, Empty, ErrorBox, Link, Loading, PageHeading, TextField } from '../components/ui.tsx';
import { authModeLabel, categoryLabel, fold, hasClient, plural } from '../format.ts';
import { paths } from '../router.ts';
import { CertificateFields, certificateOf, checkCertificate } from './IntegrationCertificate.tsx';
import type { CertificateInput, IntegrationInput, Provider, Settings } from '../types.ts';

export const CONFIG_KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);

/** "New integration": pick a template in the catalogue (`?provider=` empty), then fill in its form. */
export function NewIntegrationView({ provider }: { provider: string }) {
  const { api, settings } = useApp();
  const load = useLoad(() => Promise.all([api.providers(), settings()]), []);
  const [search, setSearch] = useState('');
  const [category, setCategory] = useState('');

  return (
    <section>
      <PageHeading>New integration</PageHeading>
      {load.state === 'loading' && <Loading>Loading the provider templates…</Loading>}
      {load.state === 'error' && <ErrorBox title="The provider templates could not be loaded" error={load.error} retry={load.reload} />}
      {load.state === 'ready' &&
        (provider ? (
          <CreateForm template={load.data[0].find((t) => t.name === provider)} name={provider} settings={load.data[1]} />
        ) : (
          <Catalogue templates={load.data[0]} search={search} setSearch={setSearch} category={category} setCategory={setCategory} />
        ))}
    </section>
  );
}

interface Indexed {
  template: Provider;
  /** What a search looks in, folded once. */
  text: string;
  /** The entry's element, made once: filtering reuses it, and Preact skips re-rendering an identical element. */
  item: ComponentChildren;
}

/** Whether every word of the query is in the template's name, key or a category (any case, accents ignored). */
export function matches(text: string, query: string): boolean {
  return fold(query)
    .split(/\s+/)
    .filter(Boolean)
    .every((w) => text.includes(w));
}

function Catalogue({
  templates,
  search,
  setSearch,
  category,
  setCategory,
}: {
  templates: Provider[];
  search: string;
  setSearch(v: string): void;
  category: string;
  setCategory(v: string): void;
}) {
  // Built once per template list: each keystroke then costs one substring test per template.
  const index = useMemo<Indexed[]>(
    () =>
      templates.map((t) => ({
        template: t,
        text: fold([t.display_name, t.name, ...t.categories.map(categoryLabel)].join(' ')),
        item: (
          <li key={t.name}>
            <Link class="template" href={paths.newIntegration(t.name)} data-testid={`template-${t.name}`}>
              <span class="template-name">
                <TemplateLogo name={t.name} />
                {t.display_name}
              </span>
              <span class="template-meta">
                <span class="mono">{t.name}</span> · {authModeLabel(t.auth_mode)}
              </span>
              <span class="template-meta">{t.categories.map(categoryLabel).join(', ')}</span>
            </Link>
          </li>
        ),
      })),
    [templates],
  );
  const categories = useMemo(() => [...new Set(templates.flatMap((t) => t.categories))].sort((a, b) => categoryLabel(a).localeCompare(categoryLabel(b))), [templates]);
  const shown = useMemo(
    () => index.filter((i) => (!category || i.template.categories.includes(category)) && matches(i.text, search)),
    [index, search, category],
  );

  const filtered = search.trim() !== '' || category !== '';
  return (
    <div class="catalogue">
      <p class="lead">Start from a provider template: it knows the provider's OAuth or API-key set-up. Then add your app's client.</p>
      <div class="filters" role="search">
        <div class="field">
          <label for="catalogue-search">Search templates</label>
          <input id="catalogue-search" type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} placeholder="GitHub, crm, calendar…" autoComplete="off" data-testid="catalogue-search" />
        </div>
        <div class="field">
          <label for="catalogue-category">Category</label>
          <select id="catalogue-category" value={category} onChange={(e) => setCategory(e.currentTarget.value)} data-testid="catalogue-category">
            <option value="">All categories</option>
            {categories.map((c) => (
              <option key={c} value={c}>
                {categoryLabel(c)}
              </option>
            ))}
          </select>
        </div>
      </div>
      <p class="count" role="status" data-testid="catalogue-count">
        {shown.length === 0 ? 'No template matches.' : filtered ? `${shown.length} of ${plural(templates.length, 'template')}` : plural(templates.length, 'template')}
      </p>
      {shown.length === 0 ? (
        <Empty>
          <p>Try another word or category. A provider without a template can be added with a template file (KEYWAY_TEMPLATES_DIR).</p>
        </Empty>
      ) : (
        <ul class="templates" data-testid="templates">
          {shown.map((i) => i.item)}
        </ul>
      )}
    </div>
  );
}

interface FormErrors {
  unique_key?: string;
  client_id?: string;
  client_secret?: string;
  certificate?: string;
  private_key?: string;
}

/** The POST /integrations body of the form's values; the client certificate only when the template uses one and both PEMs are given. */
export function createBody(
  template: Provider,
  f: { unique_key: string; display_name: string; client_id: string; client_secret: string; scopes: string } & Partial<CertificateInput>,
): IntegrationInput {
  const certificate = template.client_certificate ? certificateOf({ certificate: f.certificate ?? '', private_key: f.private_key ?? '' }) : undefined;
  return {
    unique_key: f.unique_key.trim(),
    provider: template.name,
    ...(f.display_name.trim() && { display_name: f.display_name.trim() }),
    // Client credentials may come per connection (ADP issues one client per subscribing organisation): optional there.
    ...(hasClient(template.auth_mode) && (template.auth_mode === 'OAUTH2' || f.client_id.trim() || f.client_secret) && {
      credentials: { type: 'OAUTH2' as const, client_id: f.client_id.trim(), client_secret: f.client_secret, scopes: splitScopes(f.scopes).join(',') },
    }),
    ...(certificate && { client_certificate: certificate }),
  };
}

export function validateConfigKey(key: string): string | undefined {
  if (!key.trim()) return 'Enter a config key.';
  if (!CONFIG_KEY.test(key.trim()) || RESERVED.has(key.trim())) return 'Use 1 to 100 letters, digits, _ . or -, starting with a letter or digit.';
  return undefined;
}

function CreateForm({ template, name, settings }: { template: Provider | undefined; name: string; settings: Settings }) {
  const { api, navigate, announce } = useApp();
  const mounted = useMounted();
  const heading = useRef<HTMLHeadingElement>(null);
  const [form, setForm] = useState({
    unique_key: template?.name ?? '',
    display_name: template?.display_name ?? '',
    client_id: '',
    client_secret: '',
    scopes: '',
    certificate: '',
    private_key: '',
  });
  const [errors, setErrors] = useState<FormErrors>({});
  const [failure, setFailure] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => heading.current?.focus(), []);

  if (!template) {
    return (
      <Empty>
        <h2 ref={heading} tabIndex={-1}>
          Unknown template
        </h2>
        <p>
          There is no provider template “{name}”. <Link href={paths.newIntegration()}>Back to the catalogue</Link>
        </p>
      </Empty>
    );
  }

  const client = hasClient(template.auth_mode);
  const set = (field: keyof typeof form) => (value: string) => setForm((f) => ({ ...f, [field]: value }));

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    const next: FormErrors = {};
    const keyError = validateConfigKey(form.unique_key);
    if (keyError) next.unique_key = keyError;
    // OAuth 2.0 needs the app's client; a client-credentials integration may leave it to each connection, but not half of it.
    const clientNeeded = template.auth_mode === 'OAUTH2' || Boolean(form.client_id.trim() || form.client_secret);
    if (client && clientNeeded && !form.client_id.trim()) next.client_id = 'Enter the client ID of your app at the provider.';
    if (client && clientNeeded && !form.client_secret) next.client_secret = 'Enter the client secret of your app at the provider.';
    if (template.client_certificate) Object.assign(next, checkCertificate(form, false));
    setErrors(next);
    setFailure('');
    const first = Object.keys(next)[0];
    if (first) {
      (document.querySelector(`[data-field="${first}"]`) as HTMLElement | null)?.focus();
      return;
    }
    setBusy(true);
    const body = createBody(template, form);
    // The key leaves component state with the request; on a refusal it is pasted again.
    if (form.private_key) setForm((f) => ({ ...f, private_key: '' }));
    try {
      const created = await api.createIntegration(body);
      if (!mounted.current) return;
      navigate(paths.integration(created.unique_key || form.unique_key.trim()));
      announce(`Integration “${created.display_name || created.unique_key}” created.`, 'success');
    } catch (err) {
      if (!mounted.current) return;
      setBusy(false);
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof ApiError && (err.code === 'duplicate_provider_config' || err.code === 'invalid_provider_config_key')) {
        setErrors({ unique_key: message });
        (document.querySelector('[data-field="unique_key"]') as HTMLElement | null)?.focus();
      } else setFailure(message);
    }
  };

  return (
    <div class="create">
      <p>
        <Link href={paths.newIntegration()}>← All templates</Link>
      </p>
      <h2 ref={heading} tabIndex={-1}>
        {template.display_name}
      </h2>
      <p class="muted">
        {authModeLabel(template.auth_mode)} · {template.categories.map(categoryLabel).join(', ')}
        {template.docs && (
          <>
            {' · '}
            <a href={template.docs} target="_blank" rel="noopener noreferrer">
              Provider documentation<span class="visually-hidden"> (opens in a new tab)</span>
            </a>
          </>
        )}
      </p>
      {template.auth_mode === 'OAUTH2' && (
        <div class="card">
          <CopyField
            label="Redirect URL to register at the provider"
            value={settings.callback_url}
            testid="copy-callback"
            hint={`Create an OAuth app at ${template.display_name} and register this exact URL as its redirect (callback) URL.`}
          />
        </div>
      )}
      {!client && (
        <p class="notice">
          {template.auth_mode === 'API_KEY' ? 'Users type their own API key when they connect' : 'Users type their own username and password when they connect'}: this
          integration needs no client of yours.
        </p>
      )}
      <form class="card" onSubmit={submit} noValidate data-testid="create-form">
        <TextField
          label="Config key"
          value={form.unique_key}
          onValue={set('unique_key')}
          error={errors.unique_key}
          hint="Your name for this integration, used by your app (nango.auth('key', …)). It cannot be changed later."
          autoComplete="off"
          spellcheck={false}
          required
          data-field="unique_key"
          data-testid="unique-key"
        />
        <TextField label="Display name" value={form.display_name} onValue={set('display_name')} autoComplete="off" data-testid="display-name" />
        {client && (
          <>
            <TextField
              label="Client ID"
              value={form.client_id}
              onValue={set('client_id')}
              error={errors.client_id}
              autoComplete="off"
              spellcheck={false}
              required={template.auth_mode === 'OAUTH2'}
              hint={template.auth_mode === 'OAUTH2_CC' ? 'Optional: each connection may bring its own client id and secret instead.' : undefined}
              data-field="client_id"
              data-testid="client-id"
            />
            <TextField
              label="Client secret"
              type="password"
              value={form.client_secret}
              onValue={set('client_secret')}
              error={errors.client_secret}
              hint="Stored encrypted; it is never shown again."
              autoComplete="new-password"
              spellcheck={false}
              required={template.auth_mode === 'OAUTH2'}
              data-field="client_secret"
              data-testid="client-secret"
            />
            <TextField
              label="Scopes"
              value={form.scopes}
              onValue={set('scopes')}
              hint={template.default_scopes.length > 0 ? `Comma-separated. Empty: the template's default (${template.default_scopes.join(', ')}).` : 'Comma-separated. Empty: none.'}
              placeholder={template.default_scopes.join(',')}
              autoComplete="off"
              spellcheck={false}
              data-testid="scopes"
            />
          </>
        )}
        {template.client_certificate && (
          <fieldset class="certificate-fields" data-testid="create-certificate">
            <legend>Client certificate (mutual TLS), optional</legend>
            <p class="hint">
              {template.display_name} requires your app's TLS client certificate on every request. You may add it now or later on the
              integration's page; connections are refused until it is set.
            </p>
            <CertificateFields
              value={{ certificate: form.certificate, private_key: form.private_key }}
              onValue={(v) => setForm((f) => ({ ...f, ...v }))}
              errors={{ certificate: errors.certificate, private_key: errors.private_key }}
            />
          </fieldset>
        )}
        {failure && (
          <p class="field-error" role="alert" data-testid="form-error">
            {failure}
          </p>
        )}
        <button type="submit" disabled={busy} data-testid="create">
          {busy ? 'Creating…' : 'Create integration'}
        </button>
      </form>
    </div>
  );
}
