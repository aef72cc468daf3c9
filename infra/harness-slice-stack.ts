/**
 * The stack of one harness slice (a `publications/<slice>.yaml`): reads the
 * validated config through its type's definition, decides which warehouse
 * secret its functions read the dataset with (the publication's own warehouse
 * user, the admin secret of a warehouse the core created, or reef.yaml's) and
 * where they sit (the target's VPC, else the warehouse's), and hands the core
 * resources to a HarnessSlice.
 */
import { Stack, Tags, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { SliceSpec, WarehouseSpec } from '../shared/flow/types.ts';
import type { SliceDefinition } from '../shared/slice.ts';
import { HarnessSlice } from './constructs/harness-slice.ts';
import type { WarehouseSecretRef } from './constructs/organize-slice.ts';
import { REDSHIFT_PORT } from './constructs/serverless-warehouse.ts';
import { handlersEntryOf, vpcPlacementOfConfig } from './constructs/slice-functions.ts';
import type { CoreStack } from './core-stack.ts';

export interface HarnessSliceStackProps extends StackProps {
  installation: string;
  /** The publication as loaded from the flow (config already validated against its type's schema). */
  spec: SliceSpec;
  /** Its harness slice type. */
  definition: SliceDefinition<unknown>;
  /** reef.yaml's warehouse section: where the dataset is read from. */
  warehouse: WarehouseSpec;
  /** The collect slice the dataset is a table of, when it is a collected table (not a view). @default - a view */
  datasetSource?: string;
  core: CoreStack;
}

export class HarnessSliceStack extends Stack {
  readonly harness: HarnessSlice;

  constructor(scope: Construct, id: string, props: HarnessSliceStackProps) {
    super(scope, id, props);
    const { spec, definition, warehouse } = props;
    const harness = definition.harness;
    if (definition.kind !== 'harness' || harness === undefined) throw new Error(`${spec.file}: type: found ${definition.type} (${definition.kind}); expected a harness slice type`);
    Tags.of(this).add('reef:slice', spec.slice);
    const core = props.core.referencesFor(this);
    const created = core.warehouse;

    // The publication's own warehouse user when it names one: then no other warehouse secret is granted.
    const own = harness.warehouseSecret(spec.config);
    const warehouseSecret: WarehouseSecretRef =
      own !== undefined ? { name: own } : created ? { arn: created.adminSecretArn, encryptedWithLakeKey: true } : { name: warehouse.connection.secret };

    // Next to the target when it is private; else next to a private warehouse, which the functions must reach too.
    const vpc = (definition.capabilities.vpc ? vpcPlacementOfConfig(spec) : undefined) ?? warehouse.vpc;
    if (created && vpc?.vpcId !== warehouse.vpc?.vpcId) {
      throw new Error(
        `${spec.file}: connection.vpc: found ${vpc?.vpcId ?? 'none'}; expected ${warehouse.vpc?.vpcId} (reef.yaml's warehouse.vpc): ` +
          'the warehouse Reef creates is reachable only from inside its VPC, so the functions that read it must be placed there',
      );
    }

    this.harness = new HarnessSlice(this, 'Harness', {
      installation: props.installation,
      slice: spec.slice,
      sliceType: definition.type,
      handlersEntry: handlersEntryOf(definition.type),
      config: spec.config,
      dataset: harness.dataset(spec.config),
      datasetSource: props.datasetSource,
      secretNames: definition.secretNames(spec.config),
      warehouseSecret,
      endpoint: created?.endpoint,
      vpc,
      warehouseIngress: created ? { securityGroupId: created.securityGroupId, port: REDSHIFT_PORT } : undefined,
      fallbackSchedule: definition.schedule(spec.config),
      table: core.table,
      eventBus: core.eventBus,
      lakeKey: 'encryptedWithLakeKey' in warehouseSecret ? core.lakeKey : undefined,
    });
  }
}
