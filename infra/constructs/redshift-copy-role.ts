/**
 * The role Redshift assumes to run the organize slice's COPY: it reads the
 * collected batches (the collect slices' lake prefixes) and the Redshift
 * manifests the organize slice writes, and nothing else; it writes nowhere.
 * Kept apart from the organize functions' role: the cluster, not the
 * functions, reads the Parquet parts.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { REDSHIFT_MANIFEST_PREFIX, slicePrefix } from '../../shared/lake/layout.ts';
import { lakeKeyThroughS3Statement, listPrefixesStatement } from './grants.ts';
import { acknowledgeWildcard, checkSliceName } from './slice-functions.ts';

export interface RedshiftCopyRoleProps {
  installation: string;
  /** The collect slices whose prefixes COPY reads. */
  collectSlices: readonly string[];
  lakeBucket: s3.IBucket;
  lakeKey: kms.IKey;
}

/** What COPY reads: every collected prefix, and the Redshift manifests. */
export function copyReadPrefixes(collectSlices: readonly string[]): string[] {
  return [...collectSlices.map((s) => slicePrefix(checkSliceName(s))), REDSHIFT_MANIFEST_PREFIX];
}

export class RedshiftCopyRole extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: RedshiftCopyRoleProps) {
    super(scope, id);
    const { lakeBucket } = props;
    this.role = new iam.Role(this, 'Role', {
      // A provisioned cluster and a Serverless namespace assume it through different
      // service principals. Only a warehouse the role is associated with can use it, and
      // associating it takes iam:PassRole in this account; the trust is as Redshift documents it.
      assumedBy: new iam.CompositePrincipal(new iam.ServicePrincipal('redshift.amazonaws.com'), new iam.ServicePrincipal('redshift-serverless.amazonaws.com')),
      description: `Reef ${props.installation}: what Redshift's COPY reads from the lake for the organize slice`,
    });
    const prefixes = copyReadPrefixes(props.collectSlices);
    const objects = prefixes.map((p) => lakeBucket.arnForObjects(`${p}*`));
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ReadCollectedObjects', actions: ['s3:GetObject'], resources: objects }));
    this.role.addToPrincipalPolicy(new iam.PolicyStatement(listPrefixesStatement('ListCollectedPrefixes', lakeBucket, prefixes)));
    this.role.addToPrincipalPolicy(new iam.PolicyStatement(lakeKeyThroughS3Statement('LakeKeyThroughS3', props.lakeKey, lakeBucket, ['kms:Decrypt'])));
    for (const [i, resource] of objects.entries()) {
      acknowledgeWildcard(this.role, resource, `Read-only on the objects under ${prefixes[i]}: COPY reads the batches (parts and manifests) written there.`);
    }
  }
}
