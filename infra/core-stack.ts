/**
 * The core of an installation, deployed once: what every slice stack shares.
 * Construct ids here are part of the deployed state: renaming one replaces a
 * table or a bucket, so they never change.
 */
import { CfnOutput, Duration, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { WarehouseSpec } from '../shared/flow/types.ts';
import type { WarehouseEndpoint } from '../slices/organize/redshift/warehouse.ts';
import type { NotificationSpec } from '../shared/notifications/config.ts';
import { NotificationTargets } from './constructs/notifications.ts';
import { RedshiftCopyRole } from './constructs/redshift-copy-role.ts';
import { REDSHIFT_PORT, ServerlessWarehouse, WAREHOUSE_DATABASE } from './constructs/serverless-warehouse.ts';
import type { VendorSpec } from '../shared/vendor/access.ts';
import { VendorRoles } from './vendor/vendor-roles.ts';
import { coreExportName, type CoreExport } from '../shared/stack-names.ts';

/** Partition and sort key names of the metadata table (see shared/metadata/types.ts). */
export const METADATA_PARTITION_KEY = 'pk';
export const METADATA_SORT_KEY = 'sk';

/** Retries rewrite the same keys; a month of old versions is enough to undo a mistaken overwrite or delete. */
export const LAKE_NONCURRENT_VERSION_DAYS = 30;
/** A failed extract may leave a multipart upload open; its parts cost money until aborted. */
export const LAKE_ABORT_MULTIPART_DAYS = 7;
/** Access logs are for audits and incident reviews, which look back about a year. */
export const ACCESS_LOG_RETENTION_DAYS = 400;

// The export names live in shared/stack-names.ts (free of CDK, for the CLI and the fleet tool); re-exported here.
export { coreExportName };
export type { CoreExport };

/** The core resources as another stack of the installation sees them. */
export interface CoreReferences {
  table: dynamodb.ITable;
  lakeBucket: s3.IBucket;
  lakeKey: kms.IKey;
  eventBus: events.IEventBus;
  /** The warehouse the core created, when it created one. */
  warehouse?: CreatedWarehouseReferences;
}

/** A warehouse the core stack created, as the organize stack sees it. */
export interface CreatedWarehouseReferences {
  endpoint: WarehouseEndpoint;
  /** `{ username, password }`, encrypted with the lake key. */
  adminSecretArn: string;
  /** The workgroup's security group, which the organize functions open for themselves. */
  securityGroupId: string;
  /** The role COPY assumes (the user's iamRole, or the one the core created). */
  copyRoleArn: string;
}

export interface CoreStackProps extends StackProps {
  /** Installation name (validated by the flow loader): used in aliases and the bus name. */
  installation: string;
  /**
   * reef.yaml's warehouse and the collect slices it reads. Only a warehouse
   * with createServerless changes the core stack: it creates the warehouse
   * and, unless iamRole names one, the role its COPY assumes.
   * @default - no warehouse in the core stack
   */
  warehouse?: { spec: WarehouseSpec; collectSlices: readonly string[] };
  /**
   * reef.yaml's notification targets: one EventBridge rule each on the bus.
   * @default - none: no rules, no notify function, no dead-letter queue
   */
  notifications?: readonly NotificationSpec[];
  /**
   * reef.yaml's vendor access, with the installation's slice stack names (`*` for a slice's name).
   * @default - no vendor roles
   */
  vendor?: { spec: VendorSpec; sliceStackNames: readonly string[] };
}

export class CoreStack extends Stack {
  /** The metadata table: `pk` + `sk` strings, on demand, point-in-time recovery, retained. */
  readonly table: dynamodb.Table;
  /** Customer-managed key of the lake bucket; used for lake data only. */
  readonly lakeKey: kms.Key;
  /** The data lake: Parquet batches under `<slice>/`, encrypted with `lakeKey`. */
  readonly lakeBucket: s3.Bucket;
  /** Target of the lake bucket's server access logs. */
  readonly accessLogsBucket: s3.Bucket;
  /** Data and metadata events. */
  readonly eventBus: events.EventBus;
  /** Key of the notification topic, apart from the lake key so that notifying never needs lake decryption. */
  readonly notificationKey: kms.Key;
  /** Where users hear about failed batches and paused views. */
  readonly notificationTopic: sns.Topic;
  /** The Redshift Serverless warehouse, when reef.yaml asks the core to create one. */
  readonly serverlessWarehouse?: ServerlessWarehouse;
  /** The role COPY assumes, when the core created the warehouse and reef.yaml named no role. */
  readonly copyRole?: RedshiftCopyRole;
  /** The rules (and the notify function, the dead-letter queue) of reef.yaml's notifications, when it has any. */
  readonly notificationTargets?: NotificationTargets;
  /** The vendor's roles, when reef.yaml has `vendor` (infra/vendor/vendor-roles.ts). */
  readonly vendorRoles?: VendorRoles;

  readonly installation: string;

  constructor(scope: Construct, id: string, props: CoreStackProps) {
    super(scope, id, props);
    // Access logs are delivered under a bucket policy, not the legacy
    // LogDeliveryWrite ACL, which ObjectOwnership BUCKET_OWNER_ENFORCED forbids.
    // Set here so the stack is correct whatever the app's cdk.json says.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const name = props.installation;
    this.installation = name;

    this.table = new dynamodb.Table(this, 'Metadata', {
      partitionKey: { name: METADATA_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      sortKey: { name: METADATA_SORT_KEY, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      // Batch records and cursors are the lake's index: losing them loses the lake's meaning.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.lakeKey = new kms.Key(this, 'LakeKey', {
      description: `Reef ${name}: encrypts the data lake`,
      alias: `alias/reef/${name}/lake`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      // Server access logs can only be delivered to SSE-S3 buckets.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(ACCESS_LOG_RETENTION_DAYS) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.lakeBucket = new s3.Bucket(this, 'Lake', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.lakeKey,
      // One data key per bucket instead of per object: far fewer KMS calls for many small Parquet parts.
      // Slice roles rely on it: their kms condition names the bucket ARN as encryption context.
      bucketKeyEnabled: true,
      versioned: true,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'lake/',
      lifecycleRules: [
        { noncurrentVersionExpiration: Duration.days(LAKE_NONCURRENT_VERSION_DAYS) },
        { abortIncompleteMultipartUploadAfter: Duration.days(LAKE_ABORT_MULTIPART_DAYS) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.eventBus = new events.EventBus(this, 'Events', {
      eventBusName: `reef-${name}`,
      description: `Reef ${name}: data and metadata events`,
    });

    this.notificationKey = new kms.Key(this, 'NotificationKey', {
      description: `Reef ${name}: encrypts the notification topic`,
      alias: `alias/reef/${name}/notifications`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.notificationTopic = new sns.Topic(this, 'Notifications', {
      displayName: `Reef ${name} notifications`,
      masterKey: this.notificationKey,
      enforceSSL: true,
    });
    if (props.notifications !== undefined && props.notifications.length > 0) {
      this.notificationTargets = new NotificationTargets(this, 'NotificationTargets', {
        installation: name,
        notifications: props.notifications,
        eventBus: this.eventBus,
        topic: this.notificationTopic,
        topicKey: this.notificationKey,
      });
    }

    if (props.vendor !== undefined) {
      this.vendorRoles = new VendorRoles(this, 'Vendor', {
        installation: name,
        vendor: props.vendor.spec,
        coreStackName: this.stackName,
        sliceStackNames: props.vendor.sliceStackNames,
        table: this.table,
        tableExportName: coreExportName(name, 'table-name'),
        lakeBucket: this.lakeBucket,
        lakeKey: this.lakeKey,
      });
    }

    const exported: Partial<Record<CoreExport, string>> = {
      'table-name': this.table.tableName,
      'lake-bucket-name': this.lakeBucket.bucketName,
      'lake-key-arn': this.lakeKey.keyArn,
      'event-bus-name': this.eventBus.eventBusName,
      'notification-topic-arn': this.notificationTopic.topicArn,
    };
    const warehouse = props.warehouse;
    if (warehouse?.spec.createServerless) {
      if (warehouse.spec.vpc === undefined) throw new Error('reef.yaml: warehouse.vpc: missing, expected the subnets to create the Redshift Serverless workgroup in');
      // The namespace names its COPY role when it is created, so a role Reef makes for it lives here too.
      if (warehouse.spec.iamRole === undefined) {
        this.copyRole = new RedshiftCopyRole(this, 'WarehouseCopyRole', { installation: name, collectSlices: warehouse.collectSlices, lakeBucket: this.lakeBucket, lakeKey: this.lakeKey });
      }
      const copyRoleArn = warehouse.spec.iamRole ?? this.copyRole!.role.roleArn;
      this.serverlessWarehouse = new ServerlessWarehouse(this, 'Warehouse', {
        installation: name,
        vpc: warehouse.spec.vpc,
        baseCapacity: warehouse.spec.baseCapacity,
        lakeKey: this.lakeKey,
        copyRoleArn,
      });
      exported['warehouse-host'] = this.serverlessWarehouse.workgroup.attrWorkgroupEndpointAddress;
      exported['warehouse-admin-secret-arn'] = this.serverlessWarehouse.adminSecret.secretArn;
      exported['warehouse-security-group-id'] = this.serverlessWarehouse.securityGroup.securityGroupId;
      exported['warehouse-copy-role-arn'] = copyRoleArn;
    }
    for (const [what, value] of Object.entries(exported) as Array<[CoreExport, string]>) {
      new CfnOutput(this, what, { value, exportName: coreExportName(name, what) });
    }
  }

  /**
   * The core resources for a stack of this installation, through the named
   * exports; makes that stack deploy after this one.
   */
  referencesFor(scope: Construct): CoreReferences {
    const stack = Stack.of(scope);
    stack.addStackDependency(this);
    const imported = (what: CoreExport) => Fn.importValue(coreExportName(this.installation, what));
    const lakeKey = kms.Key.fromKeyArn(scope, 'LakeKey', imported('lake-key-arn'));
    const references: CoreReferences = {
      table: dynamodb.Table.fromTableName(scope, 'Metadata', imported('table-name')),
      lakeBucket: s3.Bucket.fromBucketAttributes(scope, 'Lake', { bucketName: imported('lake-bucket-name'), encryptionKey: lakeKey }),
      lakeKey,
      eventBus: events.EventBus.fromEventBusName(scope, 'Events', imported('event-bus-name')),
    };
    if (this.serverlessWarehouse) {
      references.warehouse = {
        endpoint: { host: imported('warehouse-host'), port: REDSHIFT_PORT, database: WAREHOUSE_DATABASE },
        adminSecretArn: imported('warehouse-admin-secret-arn'),
        securityGroupId: imported('warehouse-security-group-id'),
        copyRoleArn: imported('warehouse-copy-role-arn'),
      };
    }
    return references;
  }
}
