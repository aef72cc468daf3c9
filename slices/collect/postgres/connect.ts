/**
 * Connecting to the source database with credentials from a secret, and
 * turning driver errors into Reef errors that say what went wrong without
 * ever repeating the secret.
 */
import pg from 'pg';
import { TerminalError, TransientError, type ReefError } from '../../../shared/errors.ts';
import type { Secret } from '../../../shared/secrets.ts';

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

const TRANSIENT_NET = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EPIPE']);

/** PostgreSQL SQLSTATE classes: 08 connection, 53 resources, 57P0x shutdown, 40 serialization: all worth a retry. */
function isTransientSqlState(code: string): boolean {
  return code.startsWith('08') || code.startsWith('53') || code.startsWith('57P0') || code.startsWith('40');
}

export function sourceError(e: unknown, where: string): ReefError {
  const err = e as { code?: string; message?: string };
  const code = err.code ?? '';
  const message = err.message ?? String(e);
  if (TRANSIENT_NET.has(code) || /timeout/i.test(message) || /Connection terminated/i.test(message)) {
    return new TransientError('source', `cannot reach PostgreSQL ${where}: ${message}`, { code: 'source.unreachable', cause: e });
  }
  if (code === 'ENOTFOUND') {
    return new TerminalError('source', `cannot resolve the host of PostgreSQL ${where}: ${message}; check the secret's host`, { code: 'source.unreachable', cause: e });
  }
  if (code === '28P01' || code === '28000') {
    return new TerminalError('source', `PostgreSQL ${where} refused the credentials: ${message}; update the secret`, { code: 'source.auth', cause: e });
  }
  if (code === '3D000') {
    return new TerminalError('source', `PostgreSQL ${where}: ${message}; the secret's database does not exist`, { code: 'source.database', cause: e });
  }
  if (isTransientSqlState(code)) {
    return new TransientError('source', `PostgreSQL ${where}: ${message} (SQLSTATE ${code})`, { code: 'source.busy', cause: e });
  }
  return new TerminalError('source', `PostgreSQL ${where}: ${message}${code ? ` (SQLSTATE ${code})` : ''}`, { code: 'source.error', cause: e });
}
