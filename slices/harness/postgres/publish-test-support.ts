/**
 * What the publish tests share: one real PostgreSQL (embedded, or the server
 * REEF_TEST_DATABASE_URL names) holding a warehouse database and application
 * databases, the secrets file pointing at them, a Services for `publish`,
 * and ways to read what a database holds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { startTestPostgres, type TestPostgres } from '../../../test/support/postgres.ts';
import { SecretsFile } from '../../../shared/local/secrets-file.ts';
import { localDynamoClient, localS3Client } from '../../../shared/local/standins.ts';
import { MetadataStore } from '../../../shared/metadata/store.ts';
import type { ReefEvent } from '../../../shared/metadata/types.ts';
import { NO_FAULTS, type Services } from '../../../shared/runtime/services.ts';
import { pinTextForms } from '../../collect/postgres/types.ts';
import type { PublishInput } from '../../../shared/harness/publication.ts';
import type { HarnessPostgresConfig } from './config.ts';

/**
 * Nothing listens here: publish must not touch the metadata or the lake (the
 * pass that calls it does), so their clients point at a closed port and any
 * use would fail the test instead of passing unnoticed.
 */
const NOWHERE = 'http://127.0.0.1:9';

export const NOW = new Date('2026-03-05T09:10:00Z');

export interface World {
  server: TestPostgres;
  secrets: SecretsFile;
  /** The warehouse, as the pass hands it over: connected and idle. */
  warehouse: pg.Client;
  /** Events publish emitted: it must emit none (the pass announces). */
  events: ReefEvent[];
  services: Services;
  /** A fresh application database, with a secret `name` pointing at it. */
  appDatabase(secret: string): Promise<string>;
  client(database: string): Promise<pg.Client>;
  stop(): Promise<void>;
}

export async function startWorld(): Promise<World> {
  const server = await startTestPostgres();
  const dir = mkdtempSync(join(tmpdir(), 'reef-harness-pg-'));
  const secrets = new SecretsFile(join(dir, 'secrets.json'));
  const warehouse = await server.client(await server.freshDatabase('reef_harness_wh'));
  const clients: pg.Client[] = [warehouse];
  const events: ReefEvent[] = [];
  const services: Services = {
    installation: 'acme',
    metadata: new MetadataStore({ client: localDynamoClient(NOWHERE), tableName: 'reef-metadata' }),
    s3: localS3Client(NOWHERE),
    bucket: 'acme-lake',
    secrets,
    events: { publish: async (e) => void events.push(e) },
    faults: NO_FAULTS,
    now: () => NOW,
    log: () => {},
  };
  return {
    server,
    secrets,
    warehouse,
    events,
    services,
    async appDatabase(secret) {
      const db = await server.freshDatabase('reef_harness_app');
      secrets.put(secret, server.connection(db));
      return db;
    },
    async client(database) {
      const c = await server.client(database);
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) await c.end().catch(() => {});
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function publishInput(world: World, config: HarnessPostgresConfig, more: Partial<PublishInput<HarnessPostgresConfig>> = {}): PublishInput<HarnessPostgresConfig> {
  return {
    services: world.services,
    slice: 'ltv-app',
    config,
    dataset: config.dataset,
    timelabel: '20260305080000',
    runId: 'run-1',
    warehouse: { client: world.warehouse, dialect: 'postgres' },
    ...more,
  };
}

export function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Every row of a table as text (under the same pinned text settings on either side), sorted. */
export async function rowsAsText(client: pg.Client, schema: string, table: string, columns: string[]): Promise<string[]> {
  await pinTextForms(client);
  const r = await client.query({ text: `SELECT ${columns.map((c) => `${quote(c)}::text`).join(', ')} FROM ${quote(schema)}.${quote(table)}`, rowMode: 'array' });
  return r.rows.map((row: unknown[]) => JSON.stringify(row)).sort();
}

/** Columns of a table with their types, in order. */
export async function columnTypes(client: pg.Client, schema: string, table: string): Promise<[string, string][]> {
  const r = await client.query<{ name: string; type: string }>(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
     WHERE attrelid = format('%I.%I', $1::text, $2::text)::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [schema, table],
  );
  return r.rows.map((x) => [x.name, x.type]);
}

export async function primaryKey(client: pg.Client, schema: string, table: string): Promise<string[]> {
  const r = await client.query<{ name: string }>(
    `SELECT a.attname AS name FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
     WHERE i.indrelid = format('%I.%I', $1::text, $2::text)::regclass AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)`,
    [schema, table],
  );
  return r.rows.map((x) => x.name);
}

/**
 * Everything a publish could leave behind in a database: every relation
 * outside the system schemas (indexes and temporary tables included, so a
 * primary key or a staging table that outlived its transaction shows), each
 * table's columns, types and rows. `published_at` and `run_id` are left out,
 * so two clean runs compare equal.
 */
export async function snapshot(client: pg.Client): Promise<Record<string, unknown>> {
  const relations = await client.query<{ schema: string; name: string; kind: string; temp: boolean }>(`
    SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS kind, c.relpersistence = 't' AS temp
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND c.relkind IN ('r', 'p', 'v', 'm', 'i')
    ORDER BY 1, 2`);
  const schemas = await client.query<{ name: string }>(`SELECT nspname AS name FROM pg_namespace WHERE nspname NOT LIKE 'pg_%' AND nspname <> 'information_schema' ORDER BY 1`);
  const out: Record<string, unknown> = { schemas: schemas.rows.map((r) => r.name), relations: relations.rows };
  for (const r of relations.rows.filter((x) => !x.temp && x.kind === 'r')) {
    const cols = (await columnTypes(client, r.schema, r.name)).filter(([name]) => name !== 'published_at' && name !== 'run_id');
    out[`${r.schema}.${r.name}`] = { columns: cols, rows: await rowsAsText(client, r.schema, r.name, cols.map(([name]) => name)) };
  }
  return out;
}

/** The warehouse client is as the pass handed it over: no transaction left open, no cursor. */
export async function idle(client: pg.Client): Promise<{ readOnly: string; cursors: number }> {
  const ro = await client.query<{ transaction_read_only: string }>('SHOW transaction_read_only');
  const cursors = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_cursors');
  return { readOnly: ro.rows[0].transaction_read_only, cursors: cursors.rows[0].n };
}
