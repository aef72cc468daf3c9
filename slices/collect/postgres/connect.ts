/** Connecting to the source database, its errors read as source errors. */
import type pg from 'pg';
import { connectWithSecret } from '../../../shared/postgres-connection.ts';
import type { Secret } from '../../../shared/secrets.ts';
import { sourceError } from './source-errors.ts';

export function connectSource(secret: Secret<Record<string, unknown>>, ssl: 'disable' | 'require' | 'verify-full' = 'disable'): Promise<pg.Client> {
  return connectWithSecret(secret, { ssl, applicationName: 'reef-collect', toError: sourceError });
}
