/**
 * The application database's errors as Reef errors, category `target`: a
 * refused or dropped connection, serialization conflicts, lock timeouts and
 * resource limits are worth a retry; wrong credentials, a missing database,
 * missing privileges and rows the table refuses need a person. `doing` names
 * the step and the table, or the database reached (never its password).
 */
import type pg from 'pg';
import { TerminalError, TransientError, isReefError, type ReefError } from '../../../shared/errors.ts';
import { connectWithSecret } from '../../../shared/postgres-connection.ts';
import type { Secret } from '../../../shared/secrets.ts';

const NETWORK = /^E(CONNREFUSED|CONNRESET|TIMEDOUT|HOSTUNREACH|NETUNREACH|PIPE|AI_AGAIN)$/;
/** SQLSTATE classes 08 connection, 40 serialization/deadlock, 53 resources, 55P03 lock not available, 57 operator intervention, 58 system. */
const TRANSIENT_SQLSTATE = /^(08|40|53|55P03|57|58)/;

export function targetError(e: unknown, doing: string): ReefError {
  if (isReefError(e)) return e;
  const err = e as { code?: unknown; message?: unknown; detail?: unknown };
  const code = typeof err.code === 'string' ? err.code : '';
  const message = typeof err.message === 'string' ? err.message : String(e);
  if (code === '28P01' || code === '28000') {
    return new TerminalError('target', `${doing}: the application database refused the credentials (${message}); expected the secret's user and password to be accepted`, {
      code: 'target.credentials',
      cause: e,
    });
  }
  if (code === '3D000') {
    return new TerminalError('target', `${doing}: ${message}; expected the secret's database to exist`, { code: 'target.database', cause: e });
  }
  if (code === 'ENOTFOUND') {
    return new TerminalError('target', `${doing}: cannot resolve the host (${message}); expected the secret's host to exist`, { code: 'target.host', cause: e });
  }
  if (NETWORK.test(code) || (!code && /connection|terminated|timeout/i.test(message))) {
    return new TransientError('target', `${doing}: cannot reach the application database: ${message}`, { code: 'target.unreachable', cause: e });
  }
  const detail = typeof err.detail === 'string' ? ` (${err.detail})` : '';
  const said = `${doing}: the application database said ${JSON.stringify(message)}${detail}${code ? ` (SQLSTATE ${code})` : ''}`;
  if (TRANSIENT_SQLSTATE.test(code)) {
    return new TransientError('target', `${said}; expected it to succeed on a retry`, { code: 'target.busy', cause: e });
  }
  if (code === '42501') {
    return new TerminalError('target', `${said}; expected the secret's user to be allowed to do it (see the slice's README for the privileges it needs)`, { code: 'target.permission', cause: e });
  }
  if (code.startsWith('23')) {
    return new TerminalError('target', `${said}; expected the dataset's rows to satisfy the target table's constraints`, { code: 'target.constraint', cause: e });
  }
  if (code.startsWith('22')) {
    return new TerminalError('target', `${said}; expected every value to fit the target column's type`, { code: 'target.value', cause: e });
  }
  return new TerminalError('target', `${said}; expected the statement to succeed`, { code: 'target.statement-failed', cause: e });
}

export function connectTarget(secret: Secret<Record<string, unknown>>, ssl: 'disable' | 'require' | 'verify-full' = 'disable'): Promise<pg.Client> {
  return connectWithSecret(secret, { ssl, applicationName: 'reef-harness', toError: (e, where) => targetError(e, `connecting to PostgreSQL ${where}`) });
}
