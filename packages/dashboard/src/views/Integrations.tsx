import { TemplateLogo } from '../components/TemplateLogo.tsx';
import { useApp, useLoad } from '../context.ts';
import { DateTime, Empty, ErrorBox, Link, Loading, PageHeading } from '../components/ui.tsx';
import { authModeLabel, plural } from '../format.ts';
import { paths } from '../router.ts';

export function IntegrationsView() {
  const { api, navigate } = useApp();
  const load = useLoad(async () => {
    // The templates only add the auth mode: the list shows without them.
    const [integrations, providers] = await Promise.all([api.integrations(), api.providers().catch(() => [])]);
    const byName = new Map(providers.map((p) => [p.name, p]));
    return integrations
      .map((integration) => ({ integration, provider: byName.get(integration.provider) }))
      .sort((a, b) => a.integration.display_name.localeCompare(b.integration.display_name));
  }, []);

  return (
    <section>
      <div class="page-head">
        <PageHeading>Integrations</PageHeading>
        <button type="button" onClick={() => navigate(paths.newIntegration())} data-testid="new-integration">
          New integration
        </button>
      </div>
      <p class="lead">Each integration is a provider template with your app's client, under a config key of your choice.</p>
      {load.state === 'loading' && <Loading>Loading integrations…</Loading>}
      {load.state === 'error' && <ErrorBox title="The integrations could not be loaded" error={load.error} retry={load.reload} />}
      {load.state === 'ready' &&
        (load.data.length === 0 ? (
          <Empty>
            <p>
              <strong>No integrations yet.</strong> Create one from the catalogue of provider templates to let your users connect their
              accounts.
            </p>
          </Empty>
        ) : (
          <>
            <p class="count">{plural(load.data.length, 'integration')}</p>
            <table class="table" data-testid="integrations">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Config key</th>
                  <th scope="col">Provider</th>
                  <th scope="col">Auth</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {load.data.map(({ integration: i, provider }) => (
                  <tr key={i.unique_key} data-testid={`integration-${i.unique_key}`}>
                    <th scope="row" data-label="Name">
                      <Link href={paths.integration(i.unique_key)}>{i.display_name || i.unique_key}</Link>
                    </th>
                    <td data-label="Config key" class="mono">
                      {i.unique_key}
                    </td>
                    <td data-label="Provider">
                      <TemplateLogo name={i.provider} />
                      {provider?.display_name ?? i.provider}
                    </td>
                    <td data-label="Auth">{provider ? authModeLabel(provider.auth_mode) : '—'}</td>
                    <td data-label="Created">
                      <DateTime iso={i.created_at} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        ))}
    </section>
  );
}
