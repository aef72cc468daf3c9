/**
 * The stack of the organize slice, created when reef.yaml names a warehouse:
 * decides where the warehouse's credentials, endpoint and COPY role come from
 * (the user's warehouse, or one the core stack created) and hands the core
 * resources to an OrganizeSlice.
 */
import { CfnOutput, Stack, Tags, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { WarehouseSpec } from '../shared/flow/types.ts';
import type { SliceDefinition } from '../shared/slice.ts';
import { ORGANIZE_SLICE } from '../shared/slice.ts';
import { OrganizeSlice, type WarehouseSecretRef } from './constructs/organize-slice.ts';
import { RedshiftCopyRole } from './constructs/redshift-copy-role.ts';
import { REDSHIFT_PORT } from './constructs/serverless-warehouse.ts';
import { handlersEntryOf } from './constructs/slice-functions.ts';
import type { CoreStack } from './core-stack.ts';

export interface OrganizeSliceStackProps extends StackProps {
  installation: string;
  /** reef.yaml's warehouse section (validated). */
  warehouse: WarehouseSpec;
  /** The flow's collect slices, whose batches the organize slice loads. */
  collectSlices: readonly string[];
  /** The organize slice type the warehouse names (`organize/redshift`). */
  definition: SliceDefinition<unknown>;
  core: CoreStack;
}

export class OrganizeSliceStack extends Stack {
  readonly organize: OrganizeSlice;
  /** The role COPY assumes, when this stack created it (no iamRole in reef.yaml, no warehouse created by the core). */
  readonly copyRole?: RedshiftCopyRole;

  constructor(scope: Construct, id: string, props: OrganizeSliceStackProps) {
    super(scope, id, props);
    const { warehouse, definition } = props;
    Tags.of(this).add('reef:slice', ORGANIZE_SLICE);
    const core = props.core.referencesFor(this);
    const created = core.warehouse;
    if (warehouse.iamRole === undefined && created === undefined) {
      this.copyRole = new RedshiftCopyRole(this, 'CopyRole', {
        installation: props.installation,
        collectSlices: props.collectSlices,
        lakeBucket: core.lakeBucket,
        lakeKey: core.lakeKey,
      });
    }
    const copyRoleArn = created?.copyRoleArn ?? warehouse.iamRole ?? this.copyRole!.role.roleArn;
    if (this.copyRole) {
      // Redshift can assume it only once it is associated with the warehouse, which is the user's to do.
      new CfnOutput(this, 'CopyRoleArn', { value: copyRoleArn, description: 'Associate this role with your Redshift cluster or Serverless namespace: the organize slice COPYs with it' });
    }
    const secret: WarehouseSecretRef = created ? { arn: created.adminSecretArn, encryptedWithLakeKey: true } : { name: warehouse.connection.secret };

    this.organize = new OrganizeSlice(this, 'Organize', {
      installation: props.installation,
      sliceType: definition.type,
      handlersEntry: handlersEntryOf(definition.type),
      collectSlices: props.collectSlices,
      secret,
      endpoint: created?.endpoint,
      copyRoleArn,
      vpc: warehouse.vpc,
      warehouseIngress: created ? { securityGroupId: created.securityGroupId, port: REDSHIFT_PORT } : undefined,
      fallbackSchedule: definition.schedule(warehouse),
      table: core.table,
      lakeBucket: core.lakeBucket,
      lakeKey: core.lakeKey,
      eventBus: core.eventBus,
    });
  }
}
