import type { DemoIntegration } from '../types.ts';
import { STATUS_TEXT, type CardState } from './state.ts';
import { TokenDetails } from './TokenDetails.tsx';

export interface IntegrationCardProps {
  readonly integration: DemoIntegration;
  readonly state: CardState;
  /** Called synchronously in the click handler: the popup must open within the user's gesture. */
  readonly onConnect: (configKey: string) => void;
  readonly onRefresh: (configKey: string) => void;
  /** Stops a flow under way (shown while connecting). */
  readonly onCancel?: (configKey: string) => void;
  /** Fixed clock for tests. */
  readonly now?: number;
}

export function IntegrationCard({ integration, state, onConnect, onRefresh, onCancel, now }: IntegrationCardProps) {
  const key = integration.uniqueKey;
  const name = integration.displayName;
  const headingId = `integration-${key}`;
  const connectLabel = state.status === 'connected' ? 'Reconnect' : state.status === 'error' ? 'Retry' : 'Connect';
  return (
    <article class={`card card-${state.status}`} aria-labelledby={headingId}>
      <header>
        <h2 id={headingId}>{name}</h2>
        <p class="meta">
          <code>{key}</code>
          {integration.provider !== key && <> · template <code>{integration.provider}</code></>}
        </p>
      </header>

      <p class={`status status-${state.status}`} data-testid={`status-${key}`} data-state={state.status} role="status" aria-live="polite">
        Status: {STATUS_TEXT[state.status]}
      </p>

      {state.status === 'error' && (
        <p class="error" data-testid={`error-${key}`} role="alert">
          <strong>{state.errorType}</strong>: {state.message}
        </p>
      )}

      <button
        type="button"
        data-testid={`connect-${key}`}
        onClick={() => onConnect(key)}
        disabled={state.status === 'connecting'}
        aria-label={`${connectLabel} ${name}`}
      >
        {state.status === 'connecting' ? 'Connecting…' : connectLabel}
      </button>
      {state.status === 'connecting' && onCancel && (
        <p class="hint">
          Finish in the popup window.{' '}
          <button type="button" class="secondary" data-testid={`cancel-${key}`} onClick={() => onCancel(key)} aria-label={`Cancel connecting ${name}`}>
            Cancel
          </button>
        </p>
      )}

      {state.status === 'connected' && (
        <div class="connection">
          {state.tokenError !== null && (
            <p class="error" role="alert">
              Could not read the connection: {state.tokenError}
            </p>
          )}
          {state.token === null ? (
            state.loading ? (
              <p class="hint">Reading the connection through the backend…</p>
            ) : (
              <button type="button" class="secondary" onClick={() => onRefresh(key)} aria-label={`Refresh the view of the ${name} connection`}>
                Refresh view
              </button>
            )
          ) : (
            <TokenDetails
              configKey={key}
              displayName={name}
              token={state.token}
              loading={state.loading}
              onRefresh={() => onRefresh(key)}
              {...(now !== undefined && { now })}
            />
          )}
        </div>
      )}
    </article>
  );
}
