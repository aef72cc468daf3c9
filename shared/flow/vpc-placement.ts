/**
 * Where a slice's functions (or a warehouse Reef creates) sit inside a VPC:
 * every id given by the user, nothing looked up, so synth stays offline.
 * One schema for every file that can say it (a source's connection, reef.yaml's
 * warehouse).
 */
export interface VpcPlacement {
  vpcId: string;
  subnetIds: string[];
  availabilityZones: string[];
  /** Security groups the functions use; one is created when absent or empty. */
  securityGroupIds?: string[];
}

export function vpcPlacementSchema(description: string) {
  return {
    type: 'object',
    additionalProperties: false,
    description,
    required: ['vpcId', 'subnetIds', 'availabilityZones'],
    properties: {
      vpcId: { type: 'string', pattern: '^vpc-[0-9a-f]+$' },
      subnetIds: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^subnet-[0-9a-f]+$' } },
      availabilityZones: { type: 'array', minItems: 1, items: { type: 'string' } },
      securityGroupIds: { type: 'array', items: { type: 'string', pattern: '^sg-[0-9a-f]+$' } },
    },
  } as const;
}
