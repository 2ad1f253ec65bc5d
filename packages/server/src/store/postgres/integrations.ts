import type pg from 'pg';
import type { RecordCodec } from '../codec.ts';
import { StoreError } from '../json-file.ts';
import type { Connection, Integration } from '../types.ts';
import { CONNECTIONS_CHANNEL, INTEGRATIONS_CHANNEL, notify, type ChangeNotifications } from './change-notifications.ts';
import { transaction } from './pools.ts';
import type { Cached, RecordCache } from './record-cache.ts';
import { errorMessage, INTEGRATION_COLUMNS, INTEGRATION_FIELDS, ofIntegration, otherFields, storedIntegration, type IntegrationRow } from './rows.ts';

/** The integrations table, read through the integration cache; a delete also takes the integration's connections. */
export class PostgresIntegrations {
  constructor(
    private readonly pool: pg.Pool,
    private readonly codec: RecordCodec,
    private readonly changes: ChangeNotifications,
    private readonly cache: RecordCache<Integration>,
    private readonly connections: RecordCache<Connection>,
  ) {}

  async get(uniqueKey: string): Promise<Integration | undefined> {
    const cached = await this.cache.load(uniqueKey, async () => {
      const { rows } = await this.pool.query<IntegrationRow>(`SELECT ${INTEGRATION_COLUMNS} FROM keyway_integrations WHERE unique_key = $1`, [uniqueKey]);
      return rows[0] && this.open(rows[0]);
    });
    return cached?.rec;
  }

  async list(): Promise<Integration[]> {
    const generation = this.cache.generation;
    const { rows } = await this.pool.query<IntegrationRow>(`SELECT ${INTEGRATION_COLUMNS} FROM keyway_integrations ORDER BY created_at, unique_key COLLATE "und-x-icu"`);
    const opened = await Promise.all(rows.map((r) => this.open(r)));
    this.cache.fillMany(generation, opened.map((c) => [c.rec.unique_key, c]));
    return opened.map((c) => c.rec);
  }

  async put(integration: Integration): Promise<void> {
    const key = integration.unique_key;
    const stored = await this.codec.sealIntegration(integration);
    await this.changes.announced(async (origin) => {
      const fill = this.cache.begin(key);
      let written: Cached<Integration> | undefined;
      try {
        const row = await transaction(this.pool, async (client) => {
          const { rows } = await client.query<IntegrationRow>(
            `INSERT INTO keyway_integrations (${INTEGRATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9)
             ON CONFLICT (unique_key) DO UPDATE SET provider = EXCLUDED.provider, display_name = EXCLUDED.display_name,
               client_id = EXCLUDED.client_id, client_secret = EXCLUDED.client_secret, scopes = EXCLUDED.scopes,
               other_fields = EXCLUDED.other_fields, created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at
             RETURNING ${INTEGRATION_COLUMNS}`,
            [key, stored.provider, stored.display_name, stored.client_id, stored.client_secret, JSON.stringify(stored.scopes), JSON.stringify(otherFields(stored, INTEGRATION_FIELDS)), stored.created_at, stored.updated_at],
          );
          await notify(client, INTEGRATIONS_CHANNEL, [key, origin]);
          return rows[0]!;
        });
        written = await this.open(row);
      } finally {
        this.cache.commit(key, fill, written);
      }
      return true;
    });
  }

  delete(uniqueKey: string): Promise<boolean> {
    return this.changes.announced(async (origin) => {
      const fill = this.cache.begin(uniqueKey);
      try {
        return await transaction(this.pool, async (client) => {
          const { rowCount } = await client.query('DELETE FROM keyway_integrations WHERE unique_key = $1', [uniqueKey]);
          if (!rowCount) return false;
          await client.query('DELETE FROM keyway_connections WHERE provider_config_key = $1', [uniqueKey]);
          await notify(client, INTEGRATIONS_CHANNEL, [uniqueKey, origin]);
          await notify(client, CONNECTIONS_CHANNEL, [uniqueKey, null, origin]);
          return true;
        });
      } finally {
        this.cache.commit(uniqueKey, fill, undefined);
        this.connections.invalidateWhere(ofIntegration(uniqueKey));
      }
    });
  }

  /** The row as an Integration (a StoreError names it when KEYWAY_ENCRYPTION_KEY cannot open it). */
  async open(row: IntegrationRow): Promise<Cached<Integration>> {
    try {
      return { rec: await this.codec.openIntegration(storedIntegration(row)), sealed: row.client_secret };
    } catch (e) {
      throw new StoreError(`integration "${row.unique_key}": cannot decrypt its client secret with KEYWAY_ENCRYPTION_KEY (${errorMessage(e)})`);
    }
  }
}
