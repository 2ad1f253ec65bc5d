/**
 * Keyway's status for each public method of the official Nango SDK classes. Hand-kept; the test in
 * packages/server/test/nango-compatibility.test.ts fails when an installed class has a method that is
 * not here, or when a "supported" entry names a test that does not exist. docs/nango-compatibility.md
 * is rendered from this file by scripts/nango-compatibility.ts.
 */

/** A test (file from the repository root, and its exact `it(...)` title) that exercises the method through the official package. */
export interface ProvingTest {
  readonly file: string;
  readonly name: string;
}

export type MethodStatus =
  | { readonly status: 'supported'; readonly tests: readonly ProvingTest[]; readonly note?: string }
  | { readonly status: 'planned' | 'untested' | 'not supported'; readonly why: string };

export type ClassStatus = Readonly<Record<string, MethodStatus>>;

const SANDBOX_FLOW = 'packages/server/test/sandbox-flow.test.ts';
const NANGO_API = 'packages/server/test/nango-api.test.ts';
const WEBHOOKS = 'packages/server/test/webhooks.test.ts';

const providers: MethodStatus = { status: 'supported', tests: [{ file: SANDBOX_FLOW, name: 'providers' }] };
const integrations: MethodStatus = { status: 'supported', tests: [{ file: SANDBOX_FLOW, name: 'integrations: create, list, get, update, delete' }] };
const connections: MethodStatus = { status: 'supported', tests: [{ file: SANDBOX_FLOW, name: 'connections: token, connection, raw response, list, metadata, delete' }] };
const syncs: MethodStatus = { status: 'not supported', why: 'Syncs and records run provider code on a schedule; Keyway brokers connections and tokens only.' };
const actions: MethodStatus = { status: 'not supported', why: 'Actions run provider code on demand; Keyway brokers connections and tokens only.' };
const functions: MethodStatus = { status: 'not supported', why: 'Functions (scripts: syncs and actions) are out of Keyway\'s scope.' };
const PROXY = 'packages/server/test/proxy.test.ts';
const FRONTEND = 'e2e/nango-frontend.browser.test.ts';
const proxy: MethodStatus = { status: 'supported', tests: [{ file: PROXY, name: '@nangohq/node proxy(), get() and post() work unchanged' }] };
const proxyVerb: MethodStatus = { status: 'supported', tests: [{ file: PROXY, name: '@nangohq/node put(), patch() and delete() work unchanged' }] };
const frontendAuth: MethodStatus = {
  status: 'supported',
  tests: [
    { file: FRONTEND, name: 'auth() resolves after the user approves: acknowledgement, then the outcome on the socket' },
    { file: FRONTEND, name: 'auth() rejects with the error type when the user denies' },
    { file: FRONTEND, name: "auth(key, { credentials: { type: 'TWO_STEP', ...fields } }) resolves with the pair, and rejects a wrong password with invalid_credentials" },
  ],
  note: "Proven for OAuth popups and for TWO_STEP credentials (`credentials: { type: 'TWO_STEP', ...fields }`, posted to `/auth/two-step/:key`; a refused password rejects with `AuthError` of type `invalid_credentials`). `auth()` with API_KEY or BASIC credentials is not run through the official package by a test.",
};
const frontendConnectUI: MethodStatus = {
  status: 'supported',
  tests: [{ file: FRONTEND, name: "openConnectUI({ baseURL, apiURL }) connects one OAuth and one API-key integration in Keyway\'s Connect UI" }],
};
const frontendIndirect: MethodStatus = { status: 'untested', why: 'Runs inside openConnectUI() in the test above, but no test calls it directly.' };

export const NANGO_COMPATIBILITY: Readonly<Record<string, ClassStatus>> = {
  '@nangohq/node Nango': {
    listProviders: providers,
    getProvider: providers,
    getProviderTemplates: { status: 'not supported', why: 'Templates of functions (syncs and actions) for a provider; out of Keyway\'s scope.' },
    listIntegrations: integrations,
    getIntegration: {
      status: 'supported',
      tests: [integrations.tests[0]!, { file: NANGO_API, name: 'include credentials and webhook, through the official client and @keyway/node' }],
      note: '`webhook_url` is always null (Keyway receives no webhooks from providers). The official client sends only the last item of `include` (its query helper uses `searchParams.set`).',
    },
    createIntegration: integrations,
    createQuickstartIntegration: { status: 'not supported', why: 'Quickstart integrations use OAuth apps Nango owns; with Keyway every integration uses your own OAuth client.' },
    updateIntegration: integrations,
    deleteIntegration: integrations,
    listFunctions: functions,
    getFunction: functions,
    getFunctionCode: functions,
    deleteFunction: functions,
    listConnections: {
      status: 'supported',
      tests: [connections.tests[0]!, { file: NANGO_API, name: 'sessions with tags and no end user, tags on connections and in listConnections filters, patchConnection' }],
    },
    getConnection: connections,
    patchConnection: {
      status: 'supported',
      tests: [{ file: NANGO_API, name: 'sessions with tags and no end user, tags on connections and in listConnections filters, patchConnection' }],
      note: '`end_user` and `tags`; `webhook_url_override` is refused (Keyway has one webhook URL).',
    },
    getToken: connections,
    getRawTokenResponse: connections,
    getMetadata: connections,
    setMetadata: connections,
    updateMetadata: connections,
    deleteConnection: connections,
    getScriptsConfig: functions,
    listRecords: syncs,
    pruneRecords: syncs,
    triggerSync: syncs,
    startSync: syncs,
    pauseSync: syncs,
    syncStatus: syncs,
    updateSyncConnectionFrequency: syncs,
    waitForConnection: {
      status: 'supported',
      tests: [{ file: NANGO_API, name: 'waitForConnection resolves with the connection the end user makes while the backend waits' }],
      note: 'It polls listConnections({ endUserId }): at once, after 10 s, then every 2 s.',
    },
    createSyncVariant: syncs,
    deleteSyncVariant: syncs,
    getEnvironmentVariables: { status: 'not supported', why: 'Environment variables feed Nango\'s functions runtime; out of Keyway\'s scope.' },
    triggerAction: actions,
    triggerActionAsync: actions,
    getAsyncActionResult: actions,
    proxy,
    get: proxy,
    post: proxy,
    put: proxyVerb,
    patch: proxyVerb,
    delete: proxyVerb,
    verifyWebhookSignature: {
      status: 'supported',
      tests: [{ file: WEBHOOKS, name: 'the official @nangohq/node verifyIncomingWebhookRequest (webhookSigningKey) accepts our deliveries; the deprecated check only with the legacy header' }],
      note: 'Deprecated upstream; needs KEYWAY_WEBHOOK_LEGACY_SIGNATURE.',
    },
    verifyIncomingWebhookRequest: {
      status: 'supported',
      tests: [{ file: WEBHOOKS, name: 'the official @nangohq/node verifyIncomingWebhookRequest (webhookSigningKey) accepts our deliveries; the deprecated check only with the legacy header' }],
    },
    createConnectSession: {
      status: 'supported',
      tests: [
        { file: NANGO_API, name: 'createConnectSession, then GET and DELETE /connect/session with the session token as Bearer' },
        { file: NANGO_API, name: 'sessions with tags and no end user, tags on connections and in listConnections filters, patchConnection' },
      ],
      note: '`connect_link` is a Keyway page (the token in its `#session_token=` fragment); `overrides` and `webhook_url_override` are ignored.',
    },
    createReconnectSession: { status: 'supported', tests: [{ file: NANGO_API, name: 'createReconnectSession replaces the credentials of an existing connection' }] },
  },
  '@nangohq/frontend Nango (default export)': {
    create: { status: 'untested', why: 'Nango\'s older connection-creation entry point; auth() covers the flow.' },
    auth: frontendAuth,
    reconnect: { status: 'untested', why: 'The same flow as auth() with a reconnect session (POST /connect/sessions/reconnect, tested with @keyway/frontend); not yet called through the official package.' },
    clear: { status: 'untested', why: 'Clears the SDK\'s own state; nothing of Keyway\'s is involved.' },
    openConnectUI: frontendConnectUI,
  },
  '@nangohq/frontend ConnectUI': {
    open: frontendIndirect,
    setSessionToken: frontendIndirect,
    close: frontendIndirect,
  },
};
