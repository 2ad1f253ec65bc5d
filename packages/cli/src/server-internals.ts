/**
 * Parts of @keyway/server that its package entry does not export yet, imported by path (the
 * workspace keeps both packages side by side). Local commands only: reencrypt and doctor.
 */
export { Keyring, keyId } from '../../server/src/crypto/keyring.ts';
export { RecordCodec, type StoredConnection, type StoredIntegration } from '../../server/src/store/codec.ts';
export { FILE_COLLECTIONS, JsonFileStore, StoreError } from '../../server/src/store/json-file.ts';
export { JournaledJsonFile } from '../../server/src/store/journaled-file.ts';
export { TemplateCatalog, TemplateError, BUILT_IN_TEMPLATES_DIR } from '../../server/src/templates/catalog.ts';
export { PostgresStore } from '../../server/src/store/postgres.ts';
export { reencrypt } from '../../server/src/store/reencrypt.ts';
