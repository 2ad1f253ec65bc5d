/** What the local commands (doctor, reencrypt, migrate) use of the server: its public `@keyway/server/admin` entry. */
export {
  BUILT_IN_TEMPLATES_DIR,
  FILE_COLLECTIONS,
  JournaledJsonFile,
  JsonFileStore,
  Keyring,
  keyId,
  PostgresStore,
  RecordCodec,
  reencrypt,
  StoreError,
  TemplateCatalog,
  TemplateError,
  type StoredConnection,
  type StoredIntegration,
} from '@keyway/server/admin';
