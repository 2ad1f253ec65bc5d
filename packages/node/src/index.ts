export { Nango, Nango as default } from './client.ts';
export { KeywayError } from './errors.ts';
export { verifyWebhookRequest, WEBHOOK_SIGNATURE_HEADERS, type WebhookHeaders } from './webhooks.ts';
export type { ProxyConfiguration, ProxyResponse } from './proxy.ts';
export type { ClientErrorCode, KeywayErrorCode, KeywayErrorOptions } from './errors.ts';
export type {
  AuthMode,
  ConnectSession,
  CreateConnectSessionProps,
  Connection,
  ConnectionConfigField,
  ConnectionError,
  ConnectionSummary,
  CreateIntegrationBody,
  Credentials,
  DeleteResponse,
  EndUser,
  Integration,
  IntegrationCredentials,
  IntegrationCredentialsInput,
  IntegrationInclude,
  LegacyListConnectionsQueries,
  ListConnectionsOptions,
  Metadata,
  MetadataChangeResponse,
  NangoOptions,
  OAuth2Credentials,
  OtherCredentials,
  Provider,
  Tags,
  UpdateIntegrationBody,
} from './types.ts';
