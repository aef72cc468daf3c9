/**
 * Connecting to the source database with credentials from a secret, and
 * turning driver errors into Reef errors that say what went wrong without
 * ever repeating the secret.
 */
import pg from 'pg';
import { TerminalError } from '../../../shared/errors.ts';
import type { Secret } from '../../../shared/secrets.ts';
import { sourceError } from './source-errors.ts';

/** Fail fast on a dead host; the state machine's Retry brings the patience. */
const CONNECT_TIMEOUT_MS = 10_000;

export interface SourceCredentials {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}

export function credentialsFrom(secret: Secret<Record<string, unknown>>): SourceCredentials {
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

export async function connectSource(
  secret: Secret<Record<string, unknown>>,
  ssl: 'disable' | 'require' | 'verify-full' = 'disable',
): Promise<pg.Client> {
  const c = credentialsFrom(secret);
  const client = new pg.Client({
    ...c,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    ssl: ssl === 'disable' ? false : { rejectUnauthorized: ssl === 'verify-full' },
    application_name: 'reef-collect',
  });
  // An idle socket error after connect must not crash the process; the next query reports it.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => {});
    throw sourceError(e, `${c.user}@${c.host}:${c.port}/${c.database} (secret ${secret.name})`);
  }
  return client;
}
