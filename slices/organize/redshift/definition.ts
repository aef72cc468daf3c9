import { installationSchema } from '../../../shared/flow/installation-schema.ts';
import type { WarehouseSpec } from '../../../shared/flow/types.ts';
import { ORGANIZE_TASKS } from '../../../shared/orchestration/organize-contracts.ts';
import type { ConfigProblem, SliceDefinition } from '../../../shared/slice.ts';

/**
 * How often the organize state machine also runs without a data event: it
 * picks up what an event-started execution left (a lost event, a batch that
 * failed to load and may load now). Data events start it as soon as a batch
 * commits, so this only bounds how long such leftovers wait.
 */
export const ORGANIZE_FALLBACK_SCHEDULE = 'every 1 hour';

/** Redshift Serverless places a workgroup in at least three subnets, in three Availability Zones. */
export const SERVERLESS_MIN_SUBNETS = 3;

/** One pass at a time per execution: the warehouse serializes loads of a table anyway. */
const PASS_CONCURRENCY = 1;

function problems(w: WarehouseSpec): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  if (w.createServerless) {
    if (w.vpc === undefined) {
      out.push({ path: ['vpc'], message: `missing; expected the VPC and subnets (at least ${SERVERLESS_MIN_SUBNETS}, in ${SERVERLESS_MIN_SUBNETS} Availability Zones) to create the Redshift Serverless workgroup in` });
    } else {
      if (w.vpc.subnetIds.length < SERVERLESS_MIN_SUBNETS) {
        out.push({ path: ['vpc', 'subnetIds'], message: `found ${w.vpc.subnetIds.length} subnet(s); expected at least ${SERVERLESS_MIN_SUBNETS} for a Redshift Serverless workgroup` });
      }
      if (new Set(w.vpc.availabilityZones).size < SERVERLESS_MIN_SUBNETS) {
        out.push({ path: ['vpc', 'availabilityZones'], message: `found ${new Set(w.vpc.availabilityZones).size} distinct zone(s); expected at least ${SERVERLESS_MIN_SUBNETS} for a Redshift Serverless workgroup` });
      }
    }
  } else if (w.baseCapacity !== undefined) {
    out.push({ path: ['baseCapacity'], message: `found ${w.baseCapacity} without createServerless: true; expected it only for a warehouse Reef creates` });
  }
  return out;
}

/**
 * The organize slice: loads committed collect batches into the warehouse and
 * refreshes the views there. Not declared by a file of its own: it exists
 * when reef.yaml has `warehouse:`, and that section is its config.
 */
export const organizeRedshift = {
  type: 'organize/redshift',
  kind: 'organize',
  summary: 'collected batches into Redshift (locally PostgreSQL), and the views refreshed there in DAG order',
  capabilities: {
    // The load modes it applies: a snapshot replaces the table, an incremental batch merges by keys or appends.
    modes: ['snapshot', 'incremental'],
    deletes: false,
    defaultMaxConnections: PASS_CONCURRENCY,
    vpc: true,
  },
  configSchema: installationSchema.properties.warehouse,
  example: {
    type: 'redshift',
    connection: { secret: 'acme-warehouse' },
    vpc: {
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1', 'subnet-0123456789abcdef2'],
      availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
    },
    createServerless: true,
    baseCapacity: 8,
  },
  maxConcurrency: () => PASS_CONCURRENCY,
  secretNames: (w) => [w.connection.secret],
  schedule: () => ORGANIZE_FALLBACK_SCHEDULE,
  problems: (w) => problems({ ...w, createServerless: w.createServerless ?? false }),
  runtime: async () => {
    const { organizeHandlers } = await import('./tasks.ts');
    const { organizeSettingsFromEnv } = await import('./setup.ts');
    return {
      handlers: (services) => {
        const h = organizeHandlers(services, organizeSettingsFromEnv());
        return Object.fromEntries(Object.entries(ORGANIZE_TASKS).map(([task, state]) => [state, h[task as keyof typeof h]]));
      },
    };
  },
} satisfies SliceDefinition<WarehouseSpec>;
