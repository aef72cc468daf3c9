/**
 * Which warehouse an organize pass works on and how it is reached: its
 * dialect (PostgreSQL locally, Redshift in AWS), the secret with its
 * credentials, and for Redshift the role its COPY assumes to read the lake.
 */
import type pg from 'pg';
import { TerminalError } from '../../../shared/errors.ts';
import { connectWithSecret } from '../../../shared/postgres-connection.ts';
import type { Services } from '../../../shared/runtime/services.ts';
import { Secret } from '../../../shared/secrets.ts';
import type { DialectName } from './dialect.ts';
import { warehouseError } from './warehouse-errors.ts';

/** Where a warehouse is, when its secret holds only the credentials (a Redshift-managed admin secret). */
export interface WarehouseEndpoint {
  host: string;
  port: number;
  database: string;
}

export interface WarehouseTarget {
  dialect: DialectName;
  /**
   * Name or ARN of the secret: `{host, port, database, user, password}`, or
   * with `endpoint` just the credentials (`user` or `username`, `password`).
   */
  secret: string;
  endpoint?: WarehouseEndpoint;
  /** Redshift: the role the cluster assumes for COPY (and the lake's region when it is not the cluster's). */
  copy?: { iamRole: string; region?: string };
}

/**
 * Redshift is reached over the network with its certificate checked: its
 * endpoints carry certificates issued by AWS for their host names, which
 * Node's CA list trusts. The local stand-in speaks plain TCP on localhost.
 */
const SSL_OF: Record<DialectName, 'disable' | 'verify-full'> = { postgres: 'disable', redshift: 'verify-full' };

/** The credentials as connectWithSecret reads them, the endpoint filled in when the secret has none. */
function withEndpoint(secret: Secret<Record<string, unknown>>, endpoint: WarehouseEndpoint | undefined): Secret<Record<string, unknown>> {
  if (endpoint === undefined) return secret;
  const v = secret.reveal();
  const user = typeof v.user === 'string' ? v.user : v.username;
  if (typeof user !== 'string' || typeof v.password !== 'string') {
    throw new TerminalError('config', `secret ${secret.name}: found no user (or username) and password; expected the warehouse's credentials`, { code: 'config.secret' });
  }
  return new Secret(secret.name, { ...endpoint, user, password: v.password });
}

/** `applicationName` tells the warehouse's session list (and its logs) which slice a connection is: `reef-organize` unless said. */
export async function connectWarehouse(services: Services, target: WarehouseTarget, applicationName = 'reef-organize'): Promise<pg.Client> {
  const secret = withEndpoint(await services.secrets.get(target.secret), target.endpoint);
  return connectWithSecret(secret, { applicationName, ssl: SSL_OF[target.dialect], toError: warehouseError });
}
