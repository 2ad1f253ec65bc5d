import { useRef, useState } from 'preact/hooks';
import { useApp, useMounted } from '../context.ts';
import { PageHeading } from '../components/ui.tsx';

/**
 * The secret key goes from the input straight into the sign-in request: it is read from the DOM at submit, never
 * held in component state, and the input is emptied as soon as the request is sent.
 */
export function SignInView({ reason, onSignedIn }: { reason?: string | undefined; onSignedIn(): void }) {
  const { api } = useApp();
  const input = useRef<HTMLInputElement>(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const mounted = useMounted();

  const submit = async (e: Event) => {
    e.preventDefault();
    const field = input.current;
    if (!field || busy) return;
    const secretKey = field.value.trim();
    if (!secretKey) {
      setError('Enter the secret key.');
      field.focus();
      return;
    }
    field.value = '';
    setBusy(true);
    setError('');
    try {
      await api.signIn(secretKey);
      if (mounted.current) onSignedIn();
    } catch (err) {
      if (!mounted.current) return;
      setBusy(false);
      setError(err instanceof Error ? err.message : String(err));
      input.current?.focus();
    }
  };

  return (
    <section class="sign-in">
      <PageHeading>Sign in</PageHeading>
      {reason && <p class="notice">{reason}</p>}
      <form onSubmit={submit} data-testid="sign-in-form" noValidate class="card">
        <div class="field">
          <label for="secret-key">Secret key</label>
          <input
            ref={input}
            id="secret-key"
            name="secret-key"
            type="password"
            autoComplete="off"
            spellcheck={false}
            required
            aria-invalid={error ? 'true' : undefined}
            aria-describedby={`secret-key-hint${error ? ' secret-key-error' : ''}`}
            data-testid="secret-key"
          />
          <p class="hint" id="secret-key-hint">
            The server's <code>KEYWAY_SECRET_KEY</code> (printed at its first start). It is exchanged for a 30-minute session and not kept by this page.
          </p>
          {error && (
            <p class="field-error" id="secret-key-error" role="alert" data-testid="sign-in-error">
              {error}
            </p>
          )}
        </div>
        <button type="submit" disabled={busy} data-testid="sign-in">
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </section>
  );
}
