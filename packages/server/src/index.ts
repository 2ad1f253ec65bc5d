export { createKeyway, type Keyway } from './app.ts';
export { loadConfig, ConfigError, type Config } from './config.ts';
export { KeywayError, type ErrorCode } from './errors.ts';
export { createLogger, type Logger } from './log.ts';
export type { ProviderTemplate } from './templates/schema.ts';
