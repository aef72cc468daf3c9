/**
 * Warehouse (PostgreSQL protocol: Redshift or the local stand-in) errors as
 * Reef errors, category 'target': lost connections, serialization conflicts
 * (Redshift's 1023 included), lock timeouts and resource limits are worth a
 * retry; everything else (a constraint the data violates, a missing
 * privilege, a type that does not fit) needs a person. `doing` names the
 * step and the object.
 */
import { TerminalError, TransientError, isReefError, type ReefError } from '../../../shared/errors.ts';

const NETWORK = /^E(CONNREFUSED|CONNRESET|TIMEDOUT|HOSTUNREACH|NETUNREACH|PIPE|AI_AGAIN)$/;
/** SQLSTATE classes 08 connection, 40 serialization/deadlock, 53 resources, 55P03 lock not available, 57 operator intervention, 58 system. */
const TRANSIENT_SQLSTATE = /^(08|40|53|55P03|57|58)/;

export function warehouseError(e: unknown, doing: string): ReefError {
  if (isReefError(e)) return e;
  const err = e as { code?: unknown; message?: unknown; detail?: unknown };
  const code = typeof err.code === 'string' ? err.code : '';
  const message = typeof err.message === 'string' ? err.message : String(e);
  if (NETWORK.test(code) || (!code && /connection|terminated|timeout/i.test(message))) {
    return new TransientError('target', `${doing}: cannot reach the warehouse: ${message}`, { code: 'target.unreachable', cause: e });
  }
  const detail = typeof err.detail === 'string' ? ` (${err.detail})` : '';
  const said = `${doing}: the warehouse said ${JSON.stringify(message)}${detail}${code ? ` (SQLSTATE ${code})` : ''}`;
  if (TRANSIENT_SQLSTATE.test(code) || /serializable isolation violation/i.test(message)) {
    return new TransientError('target', `${said}; expected it to succeed on a retry`, { code: 'target.busy', cause: e });
  }
  if (code.startsWith('23')) {
    return new TerminalError('target', `${said}; expected the batch's rows to satisfy the table's constraints`, { code: 'target.constraint', cause: e });
  }
  return new TerminalError('target', `${said}; expected the statement to succeed`, { code: 'target.statement-failed', cause: e });
}
