import type { ViewSpec } from '../views/types.ts';
import type { VpcPlacement } from './vpc-placement.ts';
import type { NotificationSpec } from '../notifications/config.ts';
import type { VendorSpec } from '../vendor/access.ts';

/**
 * A flow project as loaded from disk and validated: what `reef validate`,
 * `reef run` and the CDK app all read. Nothing here holds a secret value.
 */
export interface LocalDatabase {
  /** The secret name that, locally, points at this embedded PostgreSQL database. */
  secret: string;
  database: string;
  /** A module (relative to the flow) exporting `fill(client)` and `tick(client, timelabel)`; demo flows only. */
  generator?: string;
}

/** reef.yaml's `warehouse`: where collected batches are loaded and views refreshed. */
export interface WarehouseSpec {
  type: 'redshift';
  connection: { secret: string };
  /** In AWS, the role Redshift assumes to COPY from the lake; absent: the organize stack creates one. */
  iamRole?: string;
  /** In AWS, the subnets the organize functions (and a warehouse Reef creates) are placed in. */
  vpc?: VpcPlacement;
  /** In AWS, whether the core stack creates a Redshift Serverless namespace and workgroup (false unless reef.yaml says so). */
  createServerless: boolean;
  /** With createServerless: the workgroup's base capacity in RPUs. */
  baseCapacity?: number;
}

export interface InstallationSpec {
  /** Installation name: prefixes stack names and resource names. */
  name: string;
  /** Target account and region for `cdk deploy`; synth works without them. */
  account?: string;
  region?: string;
  /** Absent: the flow only collects. */
  warehouse?: WarehouseSpec;
  /** reef.yaml's notification targets, filters defaulted; absent or empty: none. */
  notifications?: NotificationSpec[];
  /** reef.yaml's vendor access (shared/vendor/access.ts); absent: no vendor roles. */
  vendor?: VendorSpec;
  local: {
    databases: LocalDatabase[];
  };
}

export interface SliceSpec {
  /** The slice name: the YAML file's base name. */
  slice: string;
  /** The slice type, e.g. `collect/postgres`. */
  type: string;
  /** Path of the file it came from, relative to the flow directory. */
  file: string;
  /** The config, validated against the slice type's JSON Schema. */
  config: unknown;
}

export interface Flow {
  /** Absolute path of the flow directory. */
  dir: string;
  installation: InstallationSpec;
  sources: SliceSpec[];
  /** Harness slices, from `publications/*.yaml`: each publishes one collected table or view. */
  publications: SliceSpec[];
  /** Every view of `views/`, each after the views it reads (empty without a views/ folder). */
  views: ViewSpec[];
}
