/** What the local commands (doctor, reencrypt, migrate) use of the server: its public `@keyway/server/admin` entry. */
export {
  BUILT_IN_TEMPLATES_DIR,
  JsonFileStore,
  Keyring,
  keyId,
  PostgresStore,
  RecordCodec,
  StoreError,
  TemplateCatalog,
  TemplateError,
  type StoredConnection,
  type StoredIntegration,
} from '@keyway/server/admin';
