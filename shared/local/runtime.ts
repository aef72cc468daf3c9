/**
 * The embedded default: one module that starts and stops every stand-in for a
 * flow, keeping all state under `<flow>/.reef/` so a restart resumes where the
 * last one stopped. Nothing here needs Docker, an AWS account or the internet.
 *
 *   .reef/dynamodb/     metadata (dynalite's LevelDB files)
 *   .reef/s3/           the lake (s3rver's files: <bucket>/<key>)
 *   .reef/postgres/     embedded PostgreSQL: local sources, later the warehouse
 *   .reef/secrets.json  local secrets (mode 0600)
 *   .reef/events.jsonl  the local event bus
 *   .reef/notifications.jsonl  each notification sent, failed, or (SQS, SNS) only due in AWS
 *   .reef/runtime.json  pid and endpoints of the running runtime
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { clockNow, type ClockSpec } from './clock.ts';
import { TerminalError } from '../errors.ts';
import type { Flow } from '../flow/types.ts';
import { MetadataStore } from '../metadata/store.ts';
import type { ReefEvent } from '../metadata/types.ts';
import type { Services } from '../runtime/services.ts';
import { faultsFromEnv } from './faults.ts';
import { ORGANIZE_SLICE } from '../slice.ts';
import { SecretsFile } from './secrets-file.ts';
import { LocalNotifier, NOTIFICATIONS_LOG } from '../notifications/local.ts';
import { freePort, localDynamoClient, startDynamo, startPostgres, startS3, type PostgresServer, type Running } from './standins.ts';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';

export const METADATA_TABLE = 'reef-metadata';

export function stateDir(flowDir: string): string {
  return join(resolve(flowDir), '.reef');
}

export function lakeBucket(installation: string): string {
  return `${installation}-lake`;
}

interface RuntimeFile {
  pid: number;
  postgresPort?: number;
  dynamoEndpoint?: string;
  /** Set by `reef dev`: the clock the runtime runs on, for `reef status` in another terminal. */
  clock?: ClockSpec;
}

function readRuntimeFile(dir: string): RuntimeFile | undefined {
  const path = join(dir, 'runtime.json');
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as RuntimeFile;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface LocalRuntimeOptions {
  /** Start the lake and the embedded PostgreSQL too (`reef status` needs only metadata). */
  full: boolean;
  /** Where progress lines go; silent by default. */
  log?: (message: string, fields?: Record<string, unknown>) => void;
  now?: () => Date;
}

/** The demo generator a flow may name for a local database. */
export interface LocalGenerator {
  fill(client: pg.ClientBase): Promise<void>;
  tick(client: pg.ClientBase, timelabel: string): Promise<unknown>;
}

export class LocalRuntime {
  readonly flow: Flow;
  readonly dir: string;
  readonly services: Services;
  readonly secrets: SecretsFile;
  readonly postgres?: PostgresServer;
  readonly #stops: (() => Promise<void>)[];
  readonly #subscribers: ((e: ReefEvent) => void)[];
  readonly #clock: { spec?: ClockSpec };

  private constructor(flow: Flow, dir: string, services: Services, secrets: SecretsFile, postgres: PostgresServer | undefined, stops: (() => Promise<void>)[], subscribers: ((e: ReefEvent) => void)[], clock: { spec?: ClockSpec }) {
    this.#clock = clock;
    this.flow = flow;
    this.dir = dir;
    this.services = services;
    this.secrets = secrets;
    this.postgres = postgres;
    this.#stops = stops;
    this.#subscribers = subscribers;
  }

  /** Runs every service on `spec` from now on, and tells `reef status` in other terminals (runtime.json). */
  useClock(spec: ClockSpec): void {
    this.#clock.spec = spec;
    const path = join(this.dir, 'runtime.json');
    const current = readRuntimeFile(this.dir);
    if (current !== undefined) writeFileSync(path, JSON.stringify({ ...current, clock: spec } satisfies RuntimeFile));
  }

  static async start(flow: Flow, options: LocalRuntimeOptions): Promise<LocalRuntime> {
    const dir = stateDir(flow.dir);
    mkdirSync(dir, { recursive: true });
    const previous = readRuntimeFile(dir);
    if (previous && previous.pid !== process.pid && alive(previous.pid)) {
      throw new TerminalError('config', `another reef process (pid ${previous.pid}) is running ${flow.dir}; expected one local runtime per flow at a time`, {
        code: 'local.busy',
      });
    }
    const stops: (() => Promise<void>)[] = [];
    const stopAll = async () => {
      for (const stop of stops.reverse()) await stop().catch(() => {});
    };
    // Held in one place so useClock can switch it under every service that reads the time.
    const clock: { spec?: ClockSpec } = {};
    const now = (): Date => (clock.spec ? clockNow(clock.spec) : options.now ? options.now() : new Date());
    try {
      const dynamo: Running<DynamoDBClient> = await startDynamo(join(dir, 'dynamodb'));
      stops.push(dynamo.stop);
      let s3: Running<S3Client> | undefined;
      let postgres: PostgresServer | undefined;
      const bucket = lakeBucket(flow.installation.name);
      if (options.full) {
        s3 = await startS3(join(dir, 's3'), [bucket]);
        stops.push(s3.stop);
        const port = previous?.postgresPort && (await portIsFree(previous.postgresPort)) ? previous.postgresPort : await freePort();
        postgres = await startPostgres({ dir: join(dir, 'postgres'), port });
        stops.push(postgres.stop);
      }
      writeFileSync(join(dir, 'runtime.json'), JSON.stringify({ pid: process.pid, postgresPort: postgres?.port, dynamoEndpoint: dynamo.endpoint, clock: clock.spec } satisfies RuntimeFile));
      stops.push(async () => rmSync(join(dir, 'runtime.json'), { force: true }));

      const metadata = new MetadataStore({ client: dynamo.client, tableName: METADATA_TABLE, now });
      await metadata.ensureTable();
      const secrets = new SecretsFile(join(dir, 'secrets.json'));
      const subscribers: ((e: ReefEvent) => void)[] = [];
      const log = options.log ?? (() => {});
      const notifier = new LocalNotifier({
        installation: flow.installation.name,
        notifications: flow.installation.notifications ?? [],
        secrets,
        logFile: join(dir, NOTIFICATIONS_LOG),
        log,
        now,
      });
      // Stopping lets queued notifications go out first (stops run last-pushed first).
      stops.push(() => notifier.drain());
      const services: Services = {
        installation: flow.installation.name,
        metadata,
        s3: s3?.client as S3Client,
        bucket,
        secrets,
        events: {
          async publish(event) {
            appendFileSync(join(dir, 'events.jsonl'), JSON.stringify(event) + '\n');
            for (const s of subscribers) s(event);
            notifier.publish(event);
          },
        },
        faults: faultsFromEnv(),
        now,
        log,
      };
      const runtime = new LocalRuntime(flow, dir, services, secrets, postgres, stops, subscribers, clock);
      if (postgres) await runtime.#prepareLocalDatabases(postgres);
      // A runtime that starts finds no live owner of any `running` batch, load or refresh: the last process died mid-run.
      if (options.full) {
        const slices = [...flow.sources.map((s) => s.slice), ...(flow.installation.warehouse ? [ORGANIZE_SLICE] : [])];
        for (const slice of slices) {
          const recovered = await metadata.recoverInterrupted(slice);
          if (recovered.length > 0) services.log(`recovered ${recovered.length} batch(es) interrupted by a stopped run`, { slice });
        }
      }
      return runtime;
    } catch (e) {
      await stopAll();
      throw e;
    }
  }

  /** Creates each local database, points its secret at it, and fills it once when the flow names a generator. */
  async #prepareLocalDatabases(server: PostgresServer): Promise<void> {
    for (const db of this.flow.installation.local.databases) {
      await ensureDatabase(server, db.database);
      this.secrets.put(db.secret, { host: server.host, port: server.port, database: db.database, user: server.user, password: server.password });
      if (db.generator) {
        const generator = await this.generator(db.generator);
        await this.withDatabase(db.database, (c) => generator.fill(c));
      }
    }
  }

  async generator(path: string): Promise<LocalGenerator> {
    const mod = (await import(pathToFileURL(resolve(this.flow.dir, path)).href)) as Partial<LocalGenerator>;
    if (typeof mod.fill !== 'function' || typeof mod.tick !== 'function') {
      throw new TerminalError('config', `${path}: expected a module exporting fill(client) and tick(client, timelabel)`, { code: 'config.generator' });
    }
    return mod as LocalGenerator;
  }

  /** Lets each local database's generator change its data for one period, before that period is collected. */
  async tickGenerators(timelabel: string): Promise<void> {
    for (const db of this.flow.installation.local.databases) {
      if (!db.generator) continue;
      const generator = await this.generator(db.generator);
      await this.withDatabase(db.database, (c) => generator.tick(c, timelabel));
    }
  }

  async withDatabase<T>(database: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
    if (!this.postgres) throw new TerminalError('internal', 'the embedded PostgreSQL is not running in this runtime', { code: 'local.no-postgres' });
    const client = new pg.Client({ host: this.postgres.host, port: this.postgres.port, user: this.postgres.user, password: this.postgres.password, database });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

  onEvent(listener: (e: ReefEvent) => void): void {
    this.#subscribers.push(listener);
  }

  /** Where a lake key is on disk, for people who want to look at the files. */
  lakePath(key = ''): string {
    return join(this.dir, 's3', this.services.bucket, key);
  }

  async stop(): Promise<void> {
    for (const stop of this.#stops.reverse()) await stop().catch(() => {});
    this.#stops.length = 0;
  }
}

async function portIsFree(port: number): Promise<boolean> {
  const { createServer } = await import('node:net');
  return new Promise((resolvePort) => {
    const srv = createServer();
    srv.once('error', () => resolvePort(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolvePort(true)));
  });
}

async function ensureDatabase(server: PostgresServer, database: string): Promise<void> {
  const admin = new pg.Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: 'postgres' });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    // The name was validated as an identifier by the flow schema; quoting still guards it.
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${database.replaceAll('"', '""')}"`);
  } finally {
    await admin.end();
  }
}

/**
 * The metadata of a flow for reading, also while another process runs it:
 * then through that runtime's DynamoDB stand-in (its files are locked by it),
 * else through a metadata-only runtime of our own.
 */
export async function openMetadata(flow: Flow): Promise<{ metadata: MetadataStore; now(): Date; close(): Promise<void> }> {
  const running = readRuntimeFile(stateDir(flow.dir));
  if (running && running.pid !== process.pid && alive(running.pid) && running.dynamoEndpoint) {
    const client = localDynamoClient(running.dynamoEndpoint);
    const clock = running.clock;
    return { metadata: new MetadataStore({ client, tableName: METADATA_TABLE }), now: () => clockNow(clock), close: async () => client.destroy() };
  }
  const runtime = await LocalRuntime.start(flow, { full: false });
  return { metadata: runtime.services.metadata, now: () => new Date(), close: () => runtime.stop() };
}
