export { Nango, Nango as default } from './client.ts';
export { KeywayError } from './errors.ts';
export { DEFAULT_WEBHOOK_TOLERANCE_SECONDS, verifyWebhookRequest, WEBHOOK_SIGNATURE_HEADERS, type VerifyWebhookOptions, type WebhookHeaders } from './webhooks.ts';
export type { ProxyConfiguration, ProxyResponse } from './proxy.ts';
export type { ClientErrorCode, KeywayErrorCode, KeywayErrorOptions } from './errors.ts';
export type {
  AuthMode,
  ClientCertificateInput,
  ClientCertificateSummary,
  ConnectSession,
  CreateConnectSessionProps,
  CreateReconnectSessionProps,
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
  PatchConnectionBody,
  ImportConnectionBody,
  Provider,
  Tags,
  UpdateIntegrationBody,
} from './types.ts';
