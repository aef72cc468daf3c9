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
  secretName: 'REEF_SECRET_NAME',
  sliceType: 'REEF_SLICE_TYPE',
  /** The slice config as deployed (JSON); the Plan function stores it in the metadata before planning. */
  sliceConfig: 'REEF_SLICE_CONFIG',
} as const;

/**
 * Lambda allows 4 KB of environment in all; the other variables take well
 * under 1 KB, so a config larger than this cannot travel this way.
 */
export const MAX_DEPLOYED_CONFIG_BYTES = 3 * 1024;
