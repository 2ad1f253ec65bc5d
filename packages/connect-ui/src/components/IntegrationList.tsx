import { categoryLabel, matchesQuery } from '../fields.ts';
import type { Integration } from '../types.ts';
import { Heading } from './Dialog.tsx';

export interface IntegrationListProps {
  readonly integrations: readonly Integration[];
  readonly query: string;
  readonly onQuery: (query: string) => void;
  readonly onSelect: (integration: Integration) => void;
}

/** The allowed integrations, searchable by name, key or category. */
export function IntegrationList({ integrations, query, onQuery, onSelect }: IntegrationListProps) {
  const shown = integrations.filter((i) => matchesQuery(i, query));
  const count =
    integrations.length === 0
      ? ''
      : query.trim() === ''
        ? `${shown.length} ${shown.length === 1 ? 'integration' : 'integrations'}`
        : shown.length === 0
          ? `No integration matches “${query.trim()}”.`
          : `${shown.length} of ${integrations.length} integrations`;
  return (
    <>
      <Heading>Connect an account</Heading>
      {integrations.length === 0 ? (
        <p class="kw-lead">There is nothing to connect here yet. Close this window and ask the app's support team.</p>
      ) : (
        <>
          <p class="kw-lead">Choose the service to connect.</p>
          <div class="kw-field">
            <label for="kw-search">Search integrations</label>
            <input
              id="kw-search"
              type="search"
              value={query}
              autocomplete="off"
              spellcheck={false}
              aria-describedby="kw-count"
              onInput={(e) => onQuery(e.currentTarget.value)}
            />
          </div>
          <p id="kw-count" class="kw-count" role="status" aria-live="polite">
            {count}
          </p>
          <ul class="kw-list">
            {shown.map((i) => (
              <li key={i.unique_key}>
                <button type="button" class="kw-item" onClick={() => onSelect(i)}>
                  <span class="kw-logo" aria-hidden="true">
                    {/* Served by the Keyway server for every template (a brand icon or a monogram). */}
                    <img src={`/images/template-logos/${encodeURIComponent(i.provider)}.svg`} alt="" width={28} height={28} loading="lazy" />
                  </span>
                  <span class="kw-item-text">
                    <span class="kw-item-name">{i.display_name}</span>
                    {i.categories.length > 0 && <span class="kw-item-meta">
                        <span class="kw-sr">, </span>
                        {i.categories.map(categoryLabel).join(', ')}
                      </span>}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </>
  );
}

