import { useState } from 'preact/hooks';
import { useApp } from '../context.ts';
import { ActivityList } from '../components/ActivityList.tsx';
import { connectionTabs, Tabs } from '../components/Tabs.tsx';
import { Link, PageHeading } from '../components/ui.tsx';
import { paths } from '../router.ts';
import type { ActivityQuery } from '../types.ts';

const ANY: ActivityQuery = { integration: '', connection: '', type: '', outcome: '', from: '', to: '' };

/** Every connection's activity; the filters live in the address, as on the connections list. */
export function ActivityView({ query }: { query: ActivityQuery }) {
  const { navigate } = useApp();
  return (
    <section>
      <PageHeading>Activity</PageHeading>
      <p class="hint">Connect flows, token refreshes, webhook deliveries, API-key checks and proxied requests, newest first. Entries never hold a token or secret.</p>
      <ActivityList query={query} onQuery={(q) => navigate(paths.activity({ ...query, ...q }), { replace: true })} />
    </section>
  );
}

/** A connection's Activity tab. */
export function ConnectionActivityView({ uniqueKey, connectionId }: { uniqueKey: string; connectionId: string }) {
  const [query, setQuery] = useState<ActivityQuery>({ ...ANY, integration: uniqueKey, connection: connectionId });
  const details = paths.connection(uniqueKey, connectionId);
  const activity = paths.connectionActivity(uniqueKey, connectionId);
  return (
    <section>
      <p class="breadcrumb">
        <Link href={paths.connections({ integration: uniqueKey })}>Connections</Link> / <span class="mono">{uniqueKey}</span> /
      </p>
      <PageHeading>
        <span class="mono">{connectionId}</span>
      </PageHeading>
      <Tabs label="Connection" tabs={connectionTabs({ details, activity })} current={activity} />
      <ActivityList query={query} onQuery={(q) => setQuery((old) => ({ ...old, ...q }))} fixed={['integration', 'connection']} />
    </section>
  );
}

/** An integration's Activity tab: every connection of the integration. */
export function IntegrationActivityView({ uniqueKey }: { uniqueKey: string }) {
  const [query, setQuery] = useState<ActivityQuery>({ ...ANY, integration: uniqueKey });
  const details = paths.integration(uniqueKey);
  const activity = paths.integrationActivity(uniqueKey);
  return (
    <section>
      <p class="breadcrumb">
        <Link href={paths.integrations()}>Integrations</Link> /
      </p>
      <PageHeading>
        <span class="mono">{uniqueKey}</span>
      </PageHeading>
      <Tabs label="Integration" tabs={connectionTabs({ details, activity })} current={activity} />
      <ActivityList query={query} onQuery={(q) => setQuery((old) => ({ ...old, ...q }))} fixed={['integration']} />
    </section>
  );
}
