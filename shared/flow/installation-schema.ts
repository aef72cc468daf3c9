/**
 * The JSON Schema of a flow's `reef.yaml`: what the flow loader checks and
 * describe.ts prints (describeSchemaFields). The TypeScript shape after defaults are applied is
 * `InstallationSpec` in types.ts.
 */
import type { InstallationSpec, LocalDatabase, WarehouseSpec } from './types.ts';
import { vpcPlacementSchema } from './vpc-placement.ts';
import { withNotificationDefaults } from '../notifications/config.ts';
import { vendorSchema, type VendorSpec } from '../vendor/access.ts';

/**
 * The name prefixes every stack and many resource names (buckets, tables,
 * roles), so it stays within what all of them accept: lowercase (S3), starts
 * with a letter (CloudFormation), never ends with a hyphen (S3 bucket names),
 * and short enough to leave room for suffixes under the 63/64-character limits.
 */
export const INSTALLATION_NAME_PATTERN = '^[a-z][a-z0-9-]{1,30}[a-z0-9]$';

/** A PostgreSQL identifier that needs no quoting, so it can be used as-is in `CREATE DATABASE`. */
const DATABASE_PATTERN = '^[a-z_][a-z0-9_]{0,62}$';

/** The same characters Secrets Manager allows in a secret name (and the collect slices accept). */
const SECRET_PATTERN = '^[A-Za-z0-9/_+=.@-]{1,512}$';

/** Names an EventBridge rule and its construct: short, plain, stable. */
const NOTIFICATION_NAME_PATTERN = '^[a-z][a-z0-9-]{0,39}$';
/** A kind (`data`, `metadata`) or an event type glob (`*.failed`, `batch.*`, `check.failed`). */
const EVENT_ENTRY_PATTERN = '^[a-z0-9*_-]+(\\.[a-z0-9*_-]+)*$';
/** A schema (`analytics`, `shop*`) or a dataset (`analytics.tmp_*`); datasets are lowercase. */
const SCHEMA_PATTERN_PATTERN = '^[a-z0-9*_$-]+(\\.[a-z0-9*_$-]+)?$';
const ARN_PARTITION = 'arn:aws[a-z-]*';

const schemaPatterns = (what: string) =>
  ({
    type: 'array',
    minItems: 1,
    items: { type: 'string', pattern: SCHEMA_PATTERN_PATTERN },
    description: `${what}: a schema (analytics, shop*: the part of the dataset before the dot) or a dataset (analytics.tmp_*); * matches any run of characters`,
  }) as const;

/** reef.yaml's `notifications` (shared/notifications/config.ts has the rules a schema cannot say). */
const notificationsSchema = {
  type: 'array',
  default: [],
  description: 'where data and metadata events are delivered: each entry one target (webhook, sqs or snsTopic) with its filter',
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['name'],
    properties: {
      name: { type: 'string', pattern: NOTIFICATION_NAME_PATTERN, description: 'unique name: 1-40 lowercase letters, digits or hyphens, starting with a letter; names the EventBridge rule' },
      webhook: {
        type: 'object',
        additionalProperties: false,
        required: ['url'],
        description: 'POST each event as JSON to a URL (in AWS from a small function, locally from the runtime)',
        properties: {
          url: { type: 'string', pattern: '^https?://', maxLength: 2048, description: 'http or https; no user:password@ (a signature authenticates Reef); only origin and path appear in logs' },
          signing: {
            type: 'object',
            additionalProperties: false,
            required: ['secret'],
            description: 'sign each request (X-Reef-Signature: sha256=<HMAC of the body>)',
            properties: {
              secret: { type: 'string', pattern: SECRET_PATTERN, description: 'name of the secret (not its value) holding {"key": "..."}, at least 16 characters' },
            },
          },
        },
      },
      sqs: {
        type: 'object',
        additionalProperties: false,
        required: ['queueArn'],
        description: 'in AWS: send each event to an SQS queue of yours (same account and region); locally only recorded',
        properties: {
          queueArn: { type: 'string', pattern: `^${ARN_PARTITION}:sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,80}(\\.fifo)?$`, description: 'the queue ARN' },
        },
      },
      snsTopic: {
        description: "in AWS: publish each event to an SNS topic; `installation` for the core stack's own topic; locally only recorded",
        // if/then/else rather than oneOf: a mapping with a misspelt field is then told about that field, not that it is not "installation".
        if: { type: 'string' },
        then: { const: 'installation' },
        else: {
          type: 'object',
          additionalProperties: false,
          required: ['topicArn'],
          properties: {
            topicArn: { type: 'string', pattern: `^${ARN_PARTITION}:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$`, description: 'a standard (not FIFO) topic of yours, same account and region' },
            kmsKeyArn: { type: 'string', pattern: `^${ARN_PARTITION}:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$`, description: 'the key the topic is encrypted with, if any' },
          },
        },
      },
      events: {
        type: 'array',
        minItems: 1,
        items: { type: 'string', pattern: EVENT_ENTRY_PATTERN },
        description: 'kinds (data, metadata) and event types, * globs allowed (*.failed, batch.*); default: [*.failed, metadata]',
      },
      schemas: {
        type: 'object',
        additionalProperties: false,
        description: "which datasets' events: include only these, exclude these (exclude wins); events without a dataset always pass",
        properties: { include: schemaPatterns('include only these'), exclude: schemaPatterns('leave these out') },
      },
    },
  },
} as const;

export const installationSchema = {
  $id: 'https://reef.dev/schemas/reef-yaml.json',
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: {
      type: 'string',
      pattern: INSTALLATION_NAME_PATTERN,
      description: 'installation name: 3-32 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen; prefixes stack and resource names',
    },
    account: {
      type: 'string',
      pattern: '^[0-9]{12}$',
      description: 'AWS account id (12 digits) that `cdk deploy` targets; synth works without it',
    },
    region: {
      type: 'string',
      pattern: '^[a-z]{2}(-[a-z]+)+-[0-9]+$',
      description: 'AWS region, e.g. eu-west-1',
    },
    warehouse: {
      type: 'object',
      additionalProperties: false,
      required: ['connection'],
      description: 'the warehouse the organize slice loads collected batches into and refreshes views in',
      properties: {
        type: { const: 'redshift', description: 'redshift (Redshift or Redshift Serverless; locally the embedded PostgreSQL)' },
        connection: {
          type: 'object',
          additionalProperties: false,
          required: ['secret'],
          properties: {
            secret: { type: 'string', pattern: SECRET_PATTERN, description: 'secret holding {host, port, database, user, password} of the warehouse' },
          },
        },
        iamRole: {
          type: 'string',
          pattern: '^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$',
          description: 'in AWS: the role Redshift assumes to COPY from the lake (default: one Reef creates, read-only on the collected prefixes, which you associate with your warehouse)',
        },
        vpc: vpcPlacementSchema('in AWS: the subnets the organize functions are placed in to reach a private warehouse (and a warehouse Reef creates is placed in)'),
        createServerless: {
          type: 'boolean',
          default: false,
          description:
            'in AWS: create a Redshift Serverless namespace and workgroup for you (in the core stack, private, in vpc, which then needs at least three subnets in three Availability Zones); ' +
            'default false: Reef uses the warehouse connection.secret names',
        },
        baseCapacity: {
          type: 'integer',
          minimum: 8,
          maximum: 1024,
          multipleOf: 8,
          description: 'with createServerless: the workgroup\'s base capacity in Redshift Processing Units (default 8, the smallest)',
        },
      },
    },
    local: {
      type: 'object',
      additionalProperties: false,
      description: 'settings used only by `reef dev` / `reef run` on this machine',
      properties: {
        databases: {
          type: 'array',
          default: [],
          description: 'embedded PostgreSQL databases created locally, each standing in for a source secret',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['secret', 'database'],
            properties: {
              secret: {
                type: 'string',
                pattern: SECRET_PATTERN,
                description: 'secret name that, locally, points at this database',
              },
              database: {
                type: 'string',
                pattern: DATABASE_PATTERN,
                description: 'database name: lowercase letters, digits and underscores, starting with a letter or underscore',
              },
              generator: {
                type: 'string',
                pattern: '^[^/].*\\.ts$',
                description: 'demo only: a .ts module relative to the flow exporting fill(client) and tick(client, timelabel)',
              },
            },
          },
        },
      },
    },
    notifications: notificationsSchema,
    // The vendor's roles; the window semantics are documented in shared/vendor/access.ts.
    vendor: vendorSchema,
  },
} as const;

/** What reef.yaml holds once it passed `installationSchema`, before defaults. */
interface RawInstallation {
  name: string;
  account?: string;
  region?: string;
  warehouse?: Omit<WarehouseSpec, 'createServerless'> & { createServerless?: boolean };
  local?: { databases?: LocalDatabase[] };
  notifications?: unknown[];
  vendor?: VendorSpec;
}

/** Apply the schema's defaults to a config that passed validation. */
export function withInstallationDefaults(raw: unknown): InstallationSpec {
  const r = raw as RawInstallation;
  const spec: InstallationSpec = { name: r.name, local: { databases: r.local?.databases ?? [] } };
  if (r.account !== undefined) spec.account = r.account;
  if (r.region !== undefined) spec.region = r.region;
  if (r.warehouse !== undefined) spec.warehouse = { ...r.warehouse, type: 'redshift', createServerless: r.warehouse.createServerless ?? false };
  if (r.notifications !== undefined) spec.notifications = withNotificationDefaults(r.notifications);
  if (r.vendor !== undefined) spec.vendor = r.vendor;
  return spec;
}
