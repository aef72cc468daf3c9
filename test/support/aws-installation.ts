/**
 * Test support: the shop example as a customer deploys it with a vendor
 * section, synthesized exactly as `cdk synth` does and deployed into the AWS
 * stand-in (aws-standin.ts), with the customer's and the vendor's keys.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { synth } from '../../infra/template-support.ts';
import { buildInstallation } from '../../infra/installation.ts';
import { TEST_ACCOUNT, TEST_REGION } from '../../infra/policy-simulation.ts';
import { loadFlow } from '../../shared/flow/load.ts';
import { AwsStandin, customerAdmin, vendorOperator, type AwsStandinOptions } from './aws-standin.ts';
import { copyExample } from './flow.ts';

export const VENDOR_ACCOUNT = '999988887777';
/** Each installation's own external id, as the vendor agrees it with each customer. */
export const externalIdOf = (installation: string) => `reef-${installation}-4f1c9a`;
export const CUSTOMER_KEY = 'AKIACUSTOMERADMIN01';
export const VENDOR_KEY = 'AKIAVENDOROPERATOR1';

export interface DeployedFlow {
  /** The flow directory, with reef.yaml naming the account, region and vendor. */
  dir: string;
  standin: AwsStandin;
}

/** A copy of examples/shop named `name`, deployed; the upgrade window starts closed. */
export async function deployShop(name = 'shop', options: Partial<AwsStandinOptions> & { standin?: AwsStandin } = {}): Promise<DeployedFlow> {
  const dir = copyExample('shop');
  const yaml = readFileSync(`${dir}/reef.yaml`, 'utf8').replace(/^name: shop$/m, `name: ${name}`);
  writeFileSync(`${dir}/reef.yaml`, `${yaml}\naccount: "${TEST_ACCOUNT}"\nregion: ${TEST_REGION}\nvendor:\n  account: "${VENDOR_ACCOUNT}"\n  externalId: ${externalIdOf(name)}\n`);
  const flow = await loadFlow(dir);
  const { templates, synthError } = synth((app) => {
    const inst = buildInstallation(app, flow);
    return [inst.core, ...inst.slices.values()];
  });
  if (synthError) throw synthError as Error;
  const standin = options.standin ?? new AwsStandin({ principals: { [CUSTOMER_KEY]: customerAdmin(), [VENDOR_KEY]: vendorOperator(VENDOR_ACCOUNT) }, ...options });
  standin.deploy(templates);
  if (!standin.endpoint) await standin.start();
  return { dir, standin };
}
