/**
 * The IAM statements that confine a role to named slices: metadata partitions
 * through `dynamodb:LeadingKeys`, lake prefixes through object ARNs and an
 * `s3:prefix` condition, and the lake key only through S3 for the lake
 * bucket. Written out by hand instead of `grantX` helpers, which would grant
 * whole tables, buckets and keys.
 */
import { Aws } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';

/**
 * Every action listed carries the partition key, so LeadingKeys always
 * applies; no Scan, whose request has no leading key (ForAllValues would pass it).
 */
export const METADATA_READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'];
export const METADATA_WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:ConditionCheckItem'];

/** A slice's partitions: `SLICE#<slice>` exactly and `SLICE#<slice>#…`, never `SLICE#<slice>-eu`. */
export function slicePartitions(slice: string): string[] {
  return [`SLICE#${slice}`, `SLICE#${slice}#*`];
}

export function metadataStatement(sid: string, table: dynamodb.ITable, slices: readonly string[], actions: readonly string[]): iam.PolicyStatementProps {
  return {
    sid,
    actions: [...actions],
    resources: [table.tableArn],
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': slices.flatMap(slicePartitions) } },
  };
}

/** Listing only under the given prefixes (each `<prefix>*`). */
export function listPrefixesStatement(sid: string, bucket: s3.IBucket, prefixes: readonly string[]): iam.PolicyStatementProps {
  return { sid, actions: ['s3:ListBucket'], resources: [bucket.bucketArn], conditions: { StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) } } };
}

/** The lake key, for the lake bucket's objects only, through S3 only. */
export function lakeKeyThroughS3Statement(sid: string, key: kms.IKey, bucket: s3.IBucket, actions: readonly string[]): iam.PolicyStatementProps {
  return {
    sid,
    actions: [...actions],
    resources: [key.keyArn],
    conditions: {
      StringEquals: {
        'kms:ViaService': `s3.${Aws.REGION}.amazonaws.com`,
        // With an S3 Bucket Key the encryption context is the bucket's ARN: the key works for this bucket only.
        'kms:EncryptionContext:aws:s3:arn': bucket.bucketArn,
      },
    },
  };
}

/**
 * The lake key, to decrypt one secret through Secrets Manager only: the admin
 * secret of a warehouse the core stack created is encrypted with it.
 */
export function lakeKeyThroughSecretsManagerStatement(sid: string, key: kms.IKey, secretArn: string): iam.PolicyStatementProps {
  return {
    sid,
    actions: ['kms:Decrypt'],
    resources: [key.keyArn],
    conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Aws.REGION}.amazonaws.com`, 'kms:EncryptionContext:SecretARN': secretArn } },
  };
}
