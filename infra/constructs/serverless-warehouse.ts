/**
 * A Redshift Serverless warehouse for users who have none yet (reef.yaml's
 * `warehouse.createServerless`): a namespace (the data, encrypted with the
 * lake key, retained) and a workgroup (the compute, private, in the user's
 * subnets), with an admin secret that Secrets Manager generates and the lake
 * key encrypts. Nothing reaches it but what its security group lets in: the
 * organize functions' security group opens itself a way in from its own stack.
 */
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as redshiftserverless from 'aws-cdk-lib/aws-redshiftserverless';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { VpcPlacement } from '../../shared/flow/vpc-placement.ts';

/** Redshift's own port, set explicitly so the ingress rule and the workgroup agree. */
export const REDSHIFT_PORT = 5439;
/** The database the namespace creates and the organize slice loads into. */
export const WAREHOUSE_DATABASE = 'reef';
/** The admin user the namespace creates; its password is the generated secret's. */
export const WAREHOUSE_ADMIN_USER = 'reef_admin';
/** The smallest base capacity Redshift Serverless offers: cheapest while idle, scales up on its own under load. */
export const DEFAULT_BASE_CAPACITY = 8;
/** Connection, user and user-activity logs, for audits. */
const LOG_EXPORTS = ['connectionlog', 'userlog', 'useractivitylog'];
/**
 * Redshift admin passwords are 8-64 printable ASCII characters with upper
 * and lower case letters and a digit, without quotes, backslash, slash, @ or
 * space.
 */
const PASSWORD_EXCLUDED = '\'"\\/@ ';
const PASSWORD_LENGTH = 40;

export interface ServerlessWarehouseProps {
  installation: string;
  /** Subnets in at least three Availability Zones (checked by the flow loader). */
  vpc: VpcPlacement;
  /** @default DEFAULT_BASE_CAPACITY */
  baseCapacity?: number;
  /** Encrypts the namespace's data and the admin secret. */
  lakeKey: kms.IKey;
  /** The role COPY assumes; the namespace's default role. */
  copyRoleArn: string;
}

export class ServerlessWarehouse extends Construct {
  readonly namespace: redshiftserverless.CfnNamespace;
  readonly workgroup: redshiftserverless.CfnWorkgroup;
  /** `{ username, password }` of the admin user. */
  readonly adminSecret: secretsmanager.Secret;
  /** The workgroup's: no ingress until the organize stack adds its own. */
  readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: ServerlessWarehouseProps) {
    super(scope, id);
    const name = `reef-${props.installation}`;
    this.adminSecret = new secretsmanager.Secret(this, 'AdminSecret', {
      description: `Reef ${props.installation}: admin credentials of the Redshift Serverless warehouse`,
      encryptionKey: props.lakeKey,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ username: WAREHOUSE_ADMIN_USER }),
        generateStringKey: 'password',
        passwordLength: PASSWORD_LENGTH,
        excludeCharacters: PASSWORD_EXCLUDED,
        requireEachIncludedType: true,
      },
      // The namespace keeps using this password: deleting the secret would lock the data out.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.adminSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating it needs a rotation function inside the warehouse VPC that can reach the workgroup; not provided yet. ' +
        'The secret is read only by the organize functions\' role, and encrypted with the customer\'s lake key.',
    });

    const vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', { vpcId: props.vpc.vpcId, availabilityZones: props.vpc.availabilityZones });
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: `Reef ${props.installation}: the Redshift Serverless workgroup; ingress only from the organize functions`,
      // COPY reads S3 through Redshift's own network (enhanced VPC routing is off): the endpoints need no way out.
      allowAllOutbound: false,
    });

    this.namespace = new redshiftserverless.CfnNamespace(this, 'Namespace', {
      namespaceName: name,
      dbName: WAREHOUSE_DATABASE,
      adminUsername: WAREHOUSE_ADMIN_USER,
      // A dynamic reference: CloudFormation resolves it at deploy time, the template holds no password.
      adminUserPassword: this.adminSecret.secretValueFromJson('password').unsafeUnwrap(),
      kmsKeyId: props.lakeKey.keyArn,
      iamRoles: [props.copyRoleArn],
      defaultIamRoleArn: props.copyRoleArn,
      logExports: LOG_EXPORTS,
    });
    // The warehouse holds the loaded tables and the views' history: never deleted with the stack.
    this.namespace.applyRemovalPolicy(RemovalPolicy.RETAIN);

    this.workgroup = new redshiftserverless.CfnWorkgroup(this, 'Workgroup', {
      workgroupName: name,
      namespaceName: name,
      baseCapacity: props.baseCapacity ?? DEFAULT_BASE_CAPACITY,
      publiclyAccessible: false,
      enhancedVpcRouting: false,
      subnetIds: props.vpc.subnetIds,
      securityGroupIds: [this.securityGroup.securityGroupId],
      port: REDSHIFT_PORT,
    });
    this.workgroup.addDependency(this.namespace);
  }
}
