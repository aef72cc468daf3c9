/**
 * Connecting to a PostgreSQL-protocol database (a source, the warehouse, an
 * application database) with credentials from a secret. Each slice maps
 * driver errors to its own category; no message ever repeats the secret.
 */
import pg from 'pg';
import { TerminalError, type ReefError } from './errors.ts';
import type { Secret } from './secrets.ts';

/** Fail fast on a dead host; the state machine's Retry brings the patience. */
const CONNECT_TIMEOUT_MS = 10_000;

export interface DatabaseCredentials {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}

export function credentialsFrom(secret: Secret<Record<string, unknown>>): DatabaseCredentials {
  const v = secret.reveal();
  const missing = ['host', 'database', 'user', 'password'].filter((k) => typeof v[k] !== 'string' || v[k] === '');
  if (missing.length > 0) {
    throw new TerminalError('config', `secret ${secret.name}: missing ${missing.join(', ')}; expected JSON with host, port, database, user, password`, {
      code: 'config.secret',
    });
  }
  const port = v.port === undefined ? 5432 : Number(v.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TerminalError('config', `secret ${secret.name}: port is not a TCP port; expected 1-65535`, { code: 'config.secret' });
  }
  return { host: v.host as string, port, database: v.database as string, user: v.user as string, password: v.password as string };
}

export interface ConnectOptions {
  /** TLS: `require` encrypts but verifies nothing; `verify-full` also checks the host. */
  ssl?: 'disable' | 'require' | 'verify-full';
  applicationName: string;
  /** The slice's mapping of driver errors; `where` names the database without its password. */
  toError(e: unknown, where: string): ReefError;
}

export async function connectWithSecret(secret: Secret<Record<string, unknown>>, options: ConnectOptions): Promise<pg.Client> {
  const c = credentialsFrom(secret);
  const ssl = options.ssl ?? 'disable';
  const client = new pg.Client({
    ...c,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    ssl: ssl === 'disable' ? false : { rejectUnauthorized: ssl === 'verify-full' },
    application_name: options.applicationName,
  });
  // An idle socket error after connect must not crash the process; the next query reports it.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => {});
    throw options.toError(e, `${c.user}@${c.host}:${c.port}/${c.database} (secret ${secret.name})`);
  }
  return client;
}

/** Ends a failed transaction; when the connection itself is gone, the server has rolled it back already. */
export async function rollbackQuietly(client: pg.ClientBase): Promise<void> {
  try {
    await client.query('ROLLBACK');
  } catch {
    // Nothing to do: see above.
  }
}
