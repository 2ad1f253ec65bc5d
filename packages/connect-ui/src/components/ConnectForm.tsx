import { useEffect, useId, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, type Api } from '../api.ts';
import { cleanValue, formFields, shortName, validate } from '../fields.ts';
import type { AuthClient, Connected, Integration } from '../types.ts';
import { Heading, Spinner } from './Dialog.tsx';
import { TextField } from './TextField.tsx';

export interface ConnectFormProps {
  readonly integration: Integration;
  readonly token: string;
  readonly api: Api;
  readonly createAuthClient: (token: string) => AuthClient;
  /** Back to the list; null when this is the only integration. */
  readonly onBack: (() => void) | null;
  readonly onConnected: (result: Connected) => void;
  /** A failed attempt (told to the parent as an `error` event); the form stays, to try again. */
  readonly onFailed: (errorType: string, errorMessage: string) => void;
  readonly onSessionExpired: (message: string) => void;
}

type Busy = null | 'popup' | 'checking';

/**
 * One integration: its connection config inputs and, for API_KEY, BASIC and TWO_STEP, its credentials, checked inline;
 * then the OAuth popup (through the SDK) or the credentials request.
 */
export function ConnectForm(props: ConnectFormProps) {
  const { integration, onBack } = props;
  const name = shortName(integration);
  const oauth = integration.auth_mode === 'OAUTH2';
  const fields = useMemo(() => formFields(integration), [integration]);
  const idBase = useId();
  const domId = (n: number) => `${idBase}-f${n}`;

  const [values, setValues] = useState<Record<string, string>>({});
  const [errors, setErrors] = useState<Record<string, string | null>>({});
  const [busy, setBusy] = useState<Busy>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [status, setStatus] = useState('');
  const [focusFirstError, setFocusFirstError] = useState(0);
  const flow = useRef<AbortController | null>(null);
  const live = useRef(true);
  // Also a ref: a double click arrives before the re-render that marks the form busy.
  const running = useRef(false);

  useEffect(
    () => () => {
      live.current = false;
      flow.current?.abort(); // closes the popup of a flow still running
    },
    [],
  );
  // After a refused submit, once the errors are rendered (so the field's description includes its error).
  useEffect(() => {
    if (!focusFirstError) return;
    const n = fields.findIndex((f) => errors[f.id]);
    if (n >= 0) document.getElementById(domId(n))?.focus();
  }, [focusFirstError]);

  const valueOf = (id: string) => values[id] ?? '';

  const onSubmit = (e: Event) => {
    e.preventDefault();
    if (running.current) return;
    const found = Object.fromEntries(fields.map((f) => [f.id, validate(f, valueOf(f.id))]));
    setErrors(found);
    setFailure(null);
    if (fields.some((f) => found[f.id])) {
      setStatus('');
      setFocusFirstError((n) => n + 1);
      return;
    }
    const params: Record<string, string> = {};
    const credentials: Record<string, string> = {};
    for (const f of fields) (f.kind === 'param' ? params : credentials)[f.name] = cleanValue(f, valueOf(f.id));

    running.current = true;
    let attempt: Promise<Connected>;
    if (oauth) {
      // Synchronously, inside the click: a popup opened after an await is blocked (Safari).
      const ac = new AbortController();
      flow.current = ac;
      try {
        attempt = props.createAuthClient(props.token).auth(integration.unique_key, { params, signal: ac.signal });
      } catch (err) {
        attempt = Promise.reject(err);
      }
      setBusy('popup');
      setStatus(`Waiting for you to finish in the ${name} window…`);
    } else {
      attempt = props.api.connectWithCredentials(props.token, integration.auth_mode === 'BASIC' || integration.auth_mode === 'TWO_STEP' ? integration.auth_mode : 'API_KEY', integration.unique_key, credentials, params);
      setBusy('checking');
      setStatus(`Checking with ${name}…`);
    }

    attempt.then(
      (result) => {
        running.current = false;
        if (!live.current) return;
        flow.current = null;
        props.onConnected(result);
      },
      (err: unknown) => {
        running.current = false;
        if (!live.current) return;
        flow.current = null;
        setBusy(null);
        const { type, message } = describeFailure(err, name);
        if (type === 'aborted') return setStatus('Cancelled.');
        if (type === 'invalid_connect_session') return props.onSessionExpired(message);
        setStatus('');
        setFailure(message);
        props.onFailed(type, message);
      },
    );
  };

  const docs = /^https?:\/\//.test(integration.docs) ? integration.docs : null;
  return (
    <>
      {onBack && (
        <button type="button" class="kw-back" onClick={onBack} disabled={busy === 'checking'}>
          <span aria-hidden="true">‹ </span>All integrations
        </button>
      )}
      <Heading>Connect {integration.display_name}</Heading>
      <p class="kw-lead">
        {oauth
          ? fields.length > 0
            ? `Fill in your ${name} account details, then sign in to ${name} in a new window.`
            : `You will sign in to ${name} in a new window and allow access.`
          : `Enter the credentials of your ${name} account.`}
        {!oauth && docs && (
          <>
            {' '}
            <a href={docs} target="_blank" rel="noopener noreferrer">
              Where to find them<span class="kw-sr"> (opens in a new tab)</span>
            </a>
          </>
        )}
      </p>
      <form noValidate onSubmit={onSubmit} aria-busy={busy ? 'true' : undefined}>
        {fields.map((f, n) => (
          <TextField
            key={f.id}
            field={f}
            domId={domId(n)}
            value={valueOf(f.id)}
            error={errors[f.id] ?? null}
            readOnly={busy !== null}
            onInput={(v) => {
              setValues((all) => ({ ...all, [f.id]: v }));
              // An error already shown goes away as soon as the value is fixed.
              if (errors[f.id]) setErrors((all) => ({ ...all, [f.id]: validate(f, v) }));
            }}
            onBlur={() => {
              if (valueOf(f.id) !== '') setErrors((all) => ({ ...all, [f.id]: validate(f, valueOf(f.id)) }));
            }}
          />
        ))}
        <div class="kw-alert" role="alert">
          {failure && <p class="kw-error">{failure}</p>}
        </div>
        <p class="kw-status" role="status" aria-live="polite">
          {busy && <Spinner />}
          {status}
        </p>
        <div class="kw-actions">
          <button type="submit" class="kw-primary" aria-disabled={busy ? 'true' : undefined}>
            {busy === 'checking' ? 'Connecting…' : 'Connect'}
          </button>
          {busy === 'popup' && (
            <button type="button" class="kw-secondary" onClick={() => flow.current?.abort()}>
              Cancel
            </button>
          )}
        </div>
      </form>
    </>
  );
}

/** A readable message for a failed attempt, with its type (the server's code or the SDK's AuthError type). */
function describeFailure(err: unknown, name: string): { type: string; message: string } {
  if (err instanceof ApiError) return { type: err.code, message: err.message };
  const e = (typeof err === 'object' && err !== null ? err : {}) as { type?: unknown; message?: unknown };
  const type = typeof e.type === 'string' ? e.type : 'unknown_error';
  const given = typeof e.message === 'string' && e.message ? e.message : `Connecting ${name} failed.`;
  const messages: Record<string, string> = {
    blocked_by_browser: `Your browser blocked the ${name} window. Allow pop-ups for this page, then try again.`,
    window_closed: `The ${name} window was closed before you finished. Try again.`,
    timeout: 'This took too long. Try again.',
  };
  return { type, message: messages[type] ?? given };
}
