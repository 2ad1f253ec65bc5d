import { useEffect, useState } from 'preact/hooks';
import { relativeTime } from '../time.ts';
import type { TokenView } from '../types.ts';

export interface TokenDetailsProps {
  readonly configKey: string;
  readonly displayName: string;
  readonly token: TokenView;
  readonly loading: boolean;
  readonly onRefresh: () => void;
  /** Fixed clock for tests; default: now, re-read every 15 s. */
  readonly now?: number;
}

function useNow(fixed: number | undefined): number {
  const [now, setNow] = useState(() => fixed ?? Date.now());
  useEffect(() => {
    if (fixed !== undefined) return;
    const timer = setInterval(() => setNow(Date.now()), 15_000);
    return () => clearInterval(timer);
  }, [fixed]);
  return fixed ?? now;
}

/** The connection as the demo's backend read it with @keyway/node. The token is masked server-side. */
export function TokenDetails({ configKey, displayName, token, loading, onRefresh, now: fixedNow }: TokenDetailsProps) {
  const now = useNow(fixedNow);
  const expired = token.expiresAt !== null && Date.parse(token.expiresAt) <= now;
  return (
    <section class="token" data-testid={`token-${configKey}`} aria-label={`${displayName} connection details`}>
      <dl>
        <dt>Connection id</dt>
        <dd>
          <code>{token.connectionId}</code>
        </dd>
        <dt>Access token</dt>
        <dd>
          <code data-testid={`masked-token-${configKey}`}>{token.maskedToken ?? '(none)'}</code>{' '}
          <span class="hint">masked by the backend</span>
        </dd>
        <dt>Expires</dt>
        <dd data-testid={`expiry-${configKey}`}>
          {token.expiresAt === null ? (
            'no expiry given'
          ) : (
            <time dateTime={token.expiresAt} title={new Date(token.expiresAt).toLocaleString()}>
              {expired ? `expired ${relativeTime(token.expiresAt, now)}` : `expires ${relativeTime(token.expiresAt, now)}`}
            </time>
          )}
          {expired && <span class="hint"> (Keyway refreshes it on the next read)</span>}
        </dd>
        <dt>Metadata</dt>
        <dd>
          <pre>{JSON.stringify(token.metadata ?? {}, null, 2)}</pre>
        </dd>
        {Object.keys(token.connectionConfig).length > 0 && (
          <>
            <dt>Connection config</dt>
            <dd>
              <pre>{JSON.stringify(token.connectionConfig, null, 2)}</pre>
            </dd>
          </>
        )}
      </dl>
      <button type="button" class="secondary" onClick={onRefresh} disabled={loading} aria-label={`Refresh the view of the ${displayName} connection`}>
        {loading ? 'Refreshing…' : 'Refresh view'}
      </button>
    </section>
  );
}
