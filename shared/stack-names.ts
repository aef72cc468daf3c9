/**
 * The names of an installation's CloudFormation stacks, free of CDK so the
 * CLI and the fleet tool can name a deployed stack without loading aws-cdk-lib.
 */
import type { SliceKind } from './slice.ts';

/** Every kind of slice stack: the names the vendor's stack patterns cover. */
export const SLICE_KINDS: readonly SliceKind[] = ['collect', 'organize', 'harness'];

export function coreStackId(installation: string): string {
  return `${installation}-core`;
}

/**
 * What the core stack exports by name, for the slice stacks of the same
 * installation (and for the CLI and the fleet tool, which find the metadata
 * table's name by it). Named exports instead of CDK's generated ones: the
 * names are a readable contract, and they do not change when a construct moves.
 */
export type CoreExport =
  | 'table-name'
  | 'lake-bucket-name'
  | 'lake-key-arn'
  | 'event-bus-name'
  | 'notification-topic-arn'
  // Only with a warehouse the core creates (reef.yaml's warehouse.createServerless):
  | 'warehouse-host'
  | 'warehouse-admin-secret-arn'
  | 'warehouse-security-group-id'
  | 'warehouse-copy-role-arn';

export function coreExportName(installation: string, what: CoreExport): string {
  return `reef-${installation}-${what}`;
}

/** The kind is part of the id so no slice name (say `core`) can collide with another stack. */
export function sliceStackId(installation: string, kind: string, slice: string): string {
  return `${installation}-${kind}-${slice}`;
}

/** The kind and slice of one of the installation's slice stacks, from its name; undefined for any other stack. */
export function parseSliceStackId(installation: string, stack: string): { kind: SliceKind; slice: string } | undefined {
  for (const kind of SLICE_KINDS) {
    const prefix = `${installation}-${kind}-`;
    if (stack.startsWith(prefix) && stack.length > prefix.length) return { kind, slice: stack.slice(prefix.length) };
  }
  return undefined;
}

/**
 * Every stack's output holding the Reef version that synthesized it: what the
 * fleet tool reads as an installation's version, so a release's templates
 * carry their version themselves.
 */
export const REEF_VERSION_OUTPUT = 'ReefVersion';
