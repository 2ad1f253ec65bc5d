import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

export const TITLE_ID = 'kw-title';

/** The modal card: every screen's frame, with the close button. */
export function Dialog({ onClose, children }: { onClose: (() => void) | null; children: ComponentChildren }) {
  return (
    <div id="kw-dialog" class="kw-dialog" role="dialog" aria-modal="true" aria-labelledby={TITLE_ID}>
      {onClose && (
        <button type="button" class="kw-close" aria-label="Close" onClick={onClose}>
          <span aria-hidden="true">×</span>
        </button>
      )}
      {children}
    </div>
  );
}

/** A screen's title; takes the focus when the screen appears, so screen readers announce the new screen. */
export function Heading({ children }: { children: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <h1 id={TITLE_ID} tabIndex={-1} ref={ref}>
      {children}
    </h1>
  );
}

export function Spinner() {
  return <span class="kw-spinner" aria-hidden="true" />;
}
