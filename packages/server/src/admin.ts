/**
 * `@keyway/server/admin`: the pieces operator tools need besides the HTTP API (the `keyway` CLI's local commands:
 * doctor, reencrypt, migrate). Kept apart from the package entry, which is for embedding the server in an app.
 */
export { BUILT_IN_TEMPLATES_DIR } from './assets.ts';
export { Keyring, keyId } from './crypto/keyring.ts';
export { RecordCodec, type StoredConnection, type StoredIntegration } from './store/codec.ts';
export { FILE_COLLECTIONS, JsonFileStore, StoreError } from './store/json-file.ts';
export { JournaledJsonFile } from './store/journaled-file.ts';
export { reencrypt } from './store/reencrypt.ts';
export { PostgresStore } from './store/postgres.ts';
export { TemplateCatalog, TemplateError } from './templates/catalog.ts';
