/**
 * The stack of one collect slice: reads the slice's validated config through
 * its type's definition and hands the core resources to a CollectSlice.
 */
import { Stack, Tags, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { SliceSpec } from '../shared/flow/types.ts';
import type { SliceDefinition } from '../shared/slice.ts';
import { CollectSlice } from './constructs/collect-slice.ts';
import { handlersEntryOf, vpcPlacementOfConfig } from './constructs/slice-functions.ts';
import type { CoreStack } from './core-stack.ts';

export interface CollectSliceStackProps extends StackProps {
  installation: string;
  /** The slice as loaded from the flow (config already validated against its type's schema). */
  spec: SliceSpec;
  definition: SliceDefinition<unknown>;
  core: CoreStack;
}

export class CollectSliceStack extends Stack {
  readonly collect: CollectSlice;

  constructor(scope: Construct, id: string, props: CollectSliceStackProps) {
    super(scope, id, props);
    const { spec, definition } = props;
    Tags.of(this).add('reef:slice', spec.slice);
    const core = props.core.referencesFor(this);

    this.collect = new CollectSlice(this, 'Collect', {
      installation: props.installation,
      slice: spec.slice,
      sliceType: definition.type,
      config: spec.config,
      handlersEntry: handlersEntryOf(definition.type),
      schedule: definition.schedule(spec.config),
      secretNames: definition.secretNames(spec.config),
      maxConcurrency: definition.maxConcurrency(spec.config),
      vpc: definition.capabilities.vpc ? vpcPlacementOfConfig(spec) : undefined,
      table: core.table,
      lakeBucket: core.lakeBucket,
      lakeKey: core.lakeKey,
      eventBus: core.eventBus,
    });
  }
}
