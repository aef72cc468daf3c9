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
