/**
 * The vendor's access to an installation, as reef.yaml declares it and as the
 * core stack deploys it (infra/vendor/vendor-roles.ts). Free of CDK so the CLI
 * (`reef vendor-access`) and the stacks read one definition:
 *
 *   vendor:
 *     account: "210987654321"          # the vendor's AWS account
 *     externalId: reef-acme-7f3c       # sts:ExternalId the vendor must present
 *     upgradeWindow:                   # optional; absent: the upgrade window starts closed
 *       until: 2026-07-01T18:00:00Z    # UTC; the upgrade role works until then
 *
 * Three roles, named by `vendorRoleName` so the vendor can assume them by ARN,
 * all created whenever `vendor` is given. The upgrade window is the core
 * stack's CloudFormation parameter UPGRADE_WINDOW_PARAMETER (an ISO 8601 UTC
 * time; its default is `upgradeWindow.until`, or CLOSED_UPGRADE_WINDOW). The
 * upgrade role's trust policy and every one of its Allow statements carry
 * `DateLessThan aws:CurrentTime <parameter>`: IAM itself turns the role off
 * when the window ends, with no redeploy and no job to forget, and the
 * customer opens or closes it by updating that one parameter
 * (`reef vendor-access`); `upgradeWindow.until` is only its value at the first
 * deploy, since `cdk deploy` keeps a parameter's previous value. The upgrade
 * role cannot change the parameter: it may not update the core stack.
 */
import type { VendorRole } from '../metadata/types.ts';
import type { ConfigProblem } from '../slice.ts';

export interface VendorSpec {
  /** The vendor's AWS account id: the only principal the roles trust. */
  account: string;
  /**
   * The `sts:ExternalId` every assumption must carry. Not a secret (AWS's
   * guidance: it guards against the confused deputy, not against a thief), so
   * it lives in reef.yaml like the rest of the config.
   */
  externalId: string;
  /** @default - the window starts closed (CLOSED_UPGRADE_WINDOW) */
  upgradeWindow?: { until: string };
}

/** The core stack's parameter holding the end of the upgrade window (an ISO 8601 UTC time). */
export const UPGRADE_WINDOW_PARAMETER = 'VendorUpgradeUntil';
/** The value of a closed window: a time always past. */
export const CLOSED_UPGRADE_WINDOW = '1970-01-01T00:00:00.000Z';

/** The IAM role name of a vendor role: stable, so the vendor can name it before it exists. */
export function vendorRoleName(installation: string, role: VendorRole): string {
  return `reef-${installation}-vendor-${role}`;
}

/** What `aws:CurrentTime` is compared with. Only UTC (`Z`) times: an offset would be read differently by a person and by IAM. */
export const UPGRADE_UNTIL_PATTERN = '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,3})?)?Z$';

/** The external id as STS accepts it: 2-1224 characters of `[\w+=,.@:/-]`. */
export const EXTERNAL_ID_PATTERN = '^[A-Za-z0-9+=,.@:/_-]{2,1224}$';

/** reef.yaml's `vendor` (the installation schema embeds it). */
export const vendorSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['account', 'externalId'],
  description:
    "the vendor's access: monitoring, administration and (while the upgrade window is open) upgrade roles; none can read lake data, decrypt, read secrets or query the warehouse (docs/security.md)",
  properties: {
    account: { type: 'string', pattern: '^[0-9]{12}$', description: "the vendor's AWS account id (12 digits): the only account that may assume the roles" },
    externalId: { type: 'string', pattern: EXTERNAL_ID_PATTERN, description: 'the sts:ExternalId the vendor must present (2-1224 of letters, digits and +=,.@:/_-); not a secret' },
    upgradeWindow: {
      type: 'object',
      additionalProperties: false,
      required: ['until'],
      description: "lets the vendor create and update Reef's slice stacks until a time; absent (the default): the window starts closed",
      properties: {
        until: { type: 'string', pattern: UPGRADE_UNTIL_PATTERN, description: 'UTC end of the window, e.g. 2026-07-01T18:00:00Z; after it IAM refuses the upgrade role without a redeploy' },
      },
    },
  },
} as const;

/** The window's end as first deployed: reef.yaml's, else closed. */
export function initialUpgradeUntil(vendor: VendorSpec): string {
  return vendor.upgradeWindow?.until ?? CLOSED_UPGRADE_WINDOW;
}

/** What the schema cannot say: `until` must be a real time (the pattern passes 2026-02-30T10:00Z). */
export function vendorProblems(vendor: unknown): ConfigProblem[] {
  const until = (vendor as { upgradeWindow?: { until?: unknown } } | undefined)?.upgradeWindow?.until;
  if (typeof until !== 'string' || !new RegExp(UPGRADE_UNTIL_PATTERN).test(until)) return [];
  const parsed = new Date(until);
  // Date rolls 2026-02-30 over into March; comparing the date part catches that.
  if (Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== until.slice(0, 10)) {
    return [{ path: ['vendor', 'upgradeWindow', 'until'], message: `found "${until}", expected a real UTC time such as 2026-07-01T18:00:00Z` }];
  }
  return [];
}
