/**
 * PostgreSQL and network errors as Reef errors: lost connections, resource
 * limits, cancellations and serialization failures are worth a retry; wrong
 * credentials, missing objects and bad data need a person. `where` names what
 * was being done or reached; no message ever holds a secret.
 */
import { TerminalError, TransientError, isReefError, type ReefError } from '../../../shared/errors.ts';

const NETWORK = /^E(CONNREFUSED|CONNRESET|TIMEDOUT|HOSTUNREACH|NETUNREACH|PIPE|AI_AGAIN)$/;
/** SQLSTATE classes 08 connection, 40 serialization, 53 resources, 57 operator intervention, 58 system. */
const TRANSIENT_SQLSTATE = /^(08|40|53|57|58)/;

export function sourceError(e: unknown, where: string): ReefError {
  if (isReefError(e)) return e;
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err.code === 'string' ? err.code : '';
  const message = typeof err.message === 'string' ? err.message : String(e);
  if (code === '28P01' || code === '28000') {
    return new TerminalError('source', `PostgreSQL ${where} refused the credentials: ${message}; expected the secret's user and password to be accepted`, { code: 'source.auth', cause: e });
  }
  if (code === '3D000') {
    return new TerminalError('source', `PostgreSQL ${where}: ${message}; expected the secret's database to exist`, { code: 'source.database', cause: e });
  }
  if (code === 'ENOTFOUND') {
    return new TerminalError('source', `cannot resolve the host of PostgreSQL ${where}: ${message}; expected the secret's host to exist`, { code: 'source.unreachable', cause: e });
  }
  if (NETWORK.test(code) || (!code && /connection|terminated|timeout/i.test(message))) {
    return new TransientError('source', `cannot reach PostgreSQL ${where}: ${message}`, { code: 'source.unreachable', cause: e });
  }
  const said = `${where}: PostgreSQL said ${JSON.stringify(message)}${code ? ` (SQLSTATE ${code})` : ''}`;
  if (TRANSIENT_SQLSTATE.test(code)) {
    return new TransientError('source', `${said}; expected the source to recover`, { code: 'source.busy', cause: e });
  }
  return new TerminalError('source', `${said}; expected the query to succeed`, { code: 'source.query-failed', cause: e });
}
