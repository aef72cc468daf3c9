/**
 * The environment a slice stack gives its functions and the functions read:
 * one list, so the two cannot drift apart.
 */
export const SLICE_ENV = {
  installation: 'REEF_INSTALLATION',
  slice: 'REEF_SLICE',
  table: 'REEF_TABLE',
  bucket: 'REEF_BUCKET',
  eventBus: 'REEF_EVENT_BUS',
  /** Collect: its source's secret. Organize and harness: the warehouse's (a harness slice's target secret is named in its config). */
  secretName: 'REEF_SECRET_NAME',
  sliceType: 'REEF_SLICE_TYPE',
  /** The slice config as deployed (JSON); the Plan function stores it in the metadata before planning. */
  sliceConfig: 'REEF_SLICE_CONFIG',
  /** Organize: `redshift` in AWS; absent, the local stand-in's `postgres`. */
  warehouseDialect: 'REEF_WAREHOUSE_DIALECT',
  /** Organize: the role Redshift's COPY assumes to read the lake. */
  copyRole: 'REEF_COPY_ROLE_ARN',
  /** Organize: `{host, port, database}` of a warehouse whose secret holds only credentials (one Reef created). */
  warehouseEndpoint: 'REEF_WAREHOUSE_ENDPOINT',
  /** Organize: the collect slices (JSON array of names) whose stored configs say what to load. */
  collectSlices: 'REEF_COLLECT_SLICES',
} as const;

/**
 * Lambda allows 4 KB of environment in all; the other variables take well
 * under 1 KB, so a config larger than this cannot travel this way.
 */
export const MAX_DEPLOYED_CONFIG_BYTES = 3 * 1024;
