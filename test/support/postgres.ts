/**
 * A real PostgreSQL for tests: the server named by REEF_TEST_DATABASE_URL when
 * set, otherwise an embedded one in a temporary directory. Each call to
 * `freshDatabase` creates an empty database so tests never see each other.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startPostgres } from '../../shared/local/standins.ts';

export interface TestPostgres {
  /** Connection settings for a database on the server. */
  connection(database: string): { host: string; port: number; user: string; password: string; database: string };
  freshDatabase(prefix?: string): Promise<string>;
  client(database: string): Promise<pg.Client>;
  stop(): Promise<void>;
}

let counter = 0;

export async function startTestPostgres(): Promise<TestPostgres> {
  const external = process.env.REEF_TEST_DATABASE_URL;
  let base: { host: string; port: number; user: string; password: string; database: string };
  let stop: () => Promise<void>;
  if (external) {
    const u = new URL(external);
    base = {
      host: u.hostname,
      port: Number(u.port || 5432),
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
      database: decodeURIComponent(u.pathname.slice(1)) || 'postgres',
    };
    stop = async () => {};
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'reef-test-pg-'));
    const server = await startPostgres({ dir });
    base = { host: server.host, port: server.port, user: server.user, password: server.password, database: 'postgres' };
    stop = async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    };
  }
  const connection = (database: string) => ({ ...base, database });
  const client = async (database: string) => {
    const c = new pg.Client(connection(database));
    await c.connect();
    return c;
  };
  return {
    connection,
    client,
    stop,
    async freshDatabase(prefix = 'reef_test') {
      const name = `${prefix}_${process.pid}_${Date.now()}_${counter++}`;
      const admin = await client(base.database);
      try {
        await admin.query(`CREATE DATABASE "${name}"`);
      } finally {
        await admin.end();
      }
      return name;
    },
  };
}
