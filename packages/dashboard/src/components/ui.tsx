import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { useApp } from '../context.ts';
import { formatDate, relative, statusLabel } from '../format.ts';
import type { ConnectionStatus, Integration } from '../types.ts';

/** The view's title; focused when the view opens, so keyboard and screen-reader users land on it. */
export function PageHeading({ children }: { children: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    ref.current?.focus();
  }, []);
  return (
    <h1 ref={ref} tabIndex={-1}>
      {children}
    </h1>
  );
}

/** An in-app link: a real <a href> (new tab, copy link work) that navigates without reloading on a plain click. */
export function Link({
  href,
  children,
  ...rest
}: {
  href: string;
  children: ComponentChildren;
  class?: string;
  'aria-current'?: 'page' | undefined;
  'data-testid'?: string;
}) {
  const { navigate } = useApp();
  return (
    <a
      {...rest}
      href={href}
      onClick={(e: MouseEvent) => {
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(href);
      }}
    >
      {children}
    </a>
  );
}

export function Loading({ children }: { children: ComponentChildren }) {
  return (
    <p class="loading" role="status" data-testid="loading">
      <span class="spinner" aria-hidden="true" />
      {children}
    </p>
  );
}

export function ErrorBox({ error, retry, title = 'Something went wrong' }: { error: Error; retry?: () => void; title?: string }) {
  return (
    <div class="error-box" role="alert" data-testid="error">
      <p>
        <strong>{title}.</strong> {error.message}
      </p>
      {retry && (
        <button type="button" class="secondary" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return (
    <div class="empty" data-testid="empty">
      {children}
    </div>
  );
}

export function StatusBadge({ status }: { status: ConnectionStatus }) {
  return <span class={`badge badge-${status}`}>{statusLabel(status)}</span>;
}

export function DateTime({ iso, withRelative = false }: { iso: string | null | undefined; withRelative?: boolean }) {
  const { deps } = useApp();
  if (!iso) return <span>—</span>;
  return (
    <time dateTime={iso}>
      {formatDate(iso)}
      {withRelative && <span class="muted"> ({relative(iso, deps.now?.() ?? Date.now())})</span>}
    </time>
  );
}

/** A read-only value and a Copy button (navigator.clipboard, else: select the text and say how to copy it). */
export function CopyField({ label, value, testid, hint }: { label: string; value: string; testid: string; hint?: ComponentChildren }) {
  const { deps, announce } = useApp();
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const [message, setMessage] = useState('');
  const copy = async () => {
    try {
      if (!deps.clipboard) throw new Error('no clipboard');
      await deps.clipboard.writeText(value);
      setMessage('Copied.');
      announce(`${label} copied to the clipboard.`, 'success');
    } catch {
      input.current?.focus();
      input.current?.select();
      setMessage('Could not copy automatically: the text is selected, press Ctrl+C (⌘C on a Mac) to copy it.');
    }
  };
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <div class="copy-row">
        <input id={id} ref={input} class="mono" type="text" readOnly value={value} aria-describedby={hint ? `${id}-hint` : undefined} onFocus={(e) => e.currentTarget.select()} />
        <button type="button" class="secondary" data-testid={testid} onClick={copy}>
          Copy
        </button>
      </div>
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {message && (
        <p class="hint" data-testid={`${testid}-message`}>
          {message}
        </p>
      )}
    </div>
  );
}

interface InputProps {
  /** `multiline`: a textarea (PEM blocks, JSON). */
  type?: 'text' | 'password' | 'multiline';
  rows?: number;
  autoComplete?: string;
  spellcheck?: boolean;
  required?: boolean;
  placeholder?: string | undefined;
  'data-testid'?: string;
  'data-field'?: string;
}

/** A labelled text input (or textarea) with an optional hint and error, both tied to it for screen readers. */
export function TextField({
  label,
  value,
  onValue,
  hint,
  error,
  type = 'text',
  ...rest
}: { label: string; value: string; onValue(v: string): void; hint?: ComponentChildren; error?: string | undefined } & InputProps) {
  const id = useId();
  const described = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  const props = {
    ...rest,
    id,
    value,
    onInput: (e: { currentTarget: HTMLInputElement | HTMLTextAreaElement }) => onValue(e.currentTarget.value),
    'aria-invalid': error ? ('true' as const) : undefined,
    'aria-describedby': described || undefined,
  };
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {type === 'multiline' ? <textarea {...props} /> : type === 'password' ? <input type="password" {...props} /> : <input type="text" {...props} />}
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {error && (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

/** Definition list rows. */
export function Facts({ rows }: { rows: [string, ComponentChildren][] }) {
  return (
    <dl class="facts">
      {rows.map(([term, value]) => (
        <div class="fact" key={term}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/**
 * A filter's integration choice: every integration by its key (and display name, when it says more), and the
 * chosen key kept even when the list does not hold it (a link to a deleted integration's history).
 */
export function IntegrationFilter({ id, value, integrations, onChange, testId }: { id: string; value: string; integrations: readonly Integration[]; onChange: (key: string) => void; testId: string }) {
  return (
    <div class="field">
      <label for={id}>Integration</label>
      <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value)} data-testid={testId}>
        <option value="">All integrations</option>
        {integrations.map((i) => (
          <option key={i.unique_key} value={i.unique_key}>
            {i.display_name && i.display_name !== i.unique_key ? `${i.display_name} (${i.unique_key})` : i.unique_key}
          </option>
        ))}
        {value && !integrations.some((i) => i.unique_key === value) && <option value={value}>{value}</option>}
      </select>
    </div>
  );
}
