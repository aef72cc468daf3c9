import type { Command } from 'commander';
import { TerminalError } from '../../shared/errors.ts';
import { addInstallation, readRegistry } from '../../shared/fleet/registry.ts';
import type { FleetDriver, RolloutState } from '../../shared/fleet/rollout.ts';
import { parseWaves, resumeRollout, rollbackRollout, rolloutStatePath, startRollout } from '../../shared/fleet/rollout.ts';
import { AwsFleet } from '../../shared/fleet/aws.ts';
import { createSimulatedFleet, SimulatedFleet } from '../../shared/fleet/simulated.ts';
import { progress, table } from '../progress.ts';

const DEFAULT_REGISTRY = 'fleet.json';
const DEFAULT_WAVES = '1,10,50,100';

interface DriverOptions {
  registry: string;
  simulated?: string;
  aws?: boolean;
  release?: string;
  json?: boolean;
}

function invalidArguments(message: string): TerminalError {
  return new TerminalError('config', message, { code: 'fleet.invalid-arguments' });
}

/**
 * The simulated driver (`--simulated <dir>`) or the AWS one (`--aws --release
 * <url>`): exactly one. The AWS driver's progress (each stack update) goes to
 * `onProgress`.
 */
function driverFor(options: DriverOptions, onProgress: (line: string) => void): FleetDriver {
  const { simulated, aws, release } = options;
  if (simulated !== undefined && aws) throw invalidArguments('found both --simulated and --aws; expected one of them: --simulated <dir> for simulated installations, --aws --release <url> for installations in AWS');
  if (simulated !== undefined) {
    if (release !== undefined) throw invalidArguments(`found --release ${release} with --simulated; expected --release only with --aws`);
    return new SimulatedFleet(simulated);
  }
  if (!aws) throw invalidArguments('no installations named; expected --aws --release <url> (installations in AWS) or --simulated <dir> (simulated ones, reef fleet simulate)');
  if (release === undefined) throw invalidArguments('found --aws without --release; expected --release <url>, the base URL of the release templates (<url>/<version>/<installation>/<stack>.template.json)');
  let url: URL | undefined;
  try {
    url = new URL(release);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw invalidArguments(`--release is ${JSON.stringify(release)}; expected an http(s) URL such as https://reef-releases.s3.eu-west-1.amazonaws.com (CloudFormation reads templates from S3)`);
  }
  return new AwsFleet({ release, onProgress });
}

/** Runs one command with its driver; the AWS driver's progress is a live line on stderr, on a terminal only. */
async function withDriver<T>(options: DriverOptions, run: (driver: FleetDriver) => Promise<T>): Promise<T> {
  const line = progress();
  try {
    return await run(driverFor(options, (text) => line.update(text)));
  } finally {
    line.done();
  }
}

function printState(state: RolloutState, options: DriverOptions): void {
  if (options.json) {
    process.stdout.write(JSON.stringify({ stateFile: rolloutStatePath(options.registry), ...state }, null, 2) + '\n');
  } else if (state.waves.length === 0) {
    process.stdout.write(`Every installation of channel ${state.channel} runs ${state.version} already; nothing to roll out.\n`);
  } else {
    const rows = [['wave', 'installations', 'outcome']];
    state.waves.forEach((w, i) => {
      const outcome = i < state.currentWave || state.status === 'completed' ? 'healthy' : i === state.currentWave && state.status === 'halted' ? 'HALTED' : 'not started';
      rows.push([w.label, String(w.installations.length), outcome]);
    });
    process.stdout.write(table(rows) + '\n');
    const untouched = Object.values(state.installations).filter((i) => i.status === 'pending').length;
    process.stdout.write(`Rollout of ${state.version} to channel ${state.channel}: ${state.status}; ${untouched} installation(s) left on their old version.\n`);
    for (const f of state.failed) process.stdout.write(`${f.installation} (${f.wave}): ${f.reason}\n`);
    if (state.status === 'halted') process.stdout.write('Fix it, then `reef fleet rollout --resume`, or `reef fleet rollback`.\n');
  }
  if (state.status === 'halted') process.exitCode = 1;
}

export function register(program: Command): void {
  const group = program
    .command('fleet')
    .description('vendor side: the registry of installations and rollouts of a new version in waves with health gates')
    .addHelpText(
      'after',
      '\nInstallations are reached in AWS (--aws --release <url>: their vendor roles, assumed with your own AWS credentials and the\n' +
        "registry's external ids) or simulated locally (--simulated <dir>, made by reef fleet simulate).\n" +
        '\nExamples:\n  reef fleet add acme --account 123456789012 --region eu-west-1 --external-id reef-acme-7f3c --installed 1.4.0\n  reef fleet list\n' +
        '  reef fleet rollout 1.5.0 --channel stable --waves 1,10,50,100 --aws --release https://reef-releases.s3.eu-west-1.amazonaws.com\n' +
        '  reef fleet rollout --resume --aws --release https://reef-releases.s3.eu-west-1.amazonaws.com\n' +
        '  reef fleet rollback --aws --release https://reef-releases.s3.eu-west-1.amazonaws.com\n' +
        '  reef fleet simulate --simulated sims --count 50 --installed 1.4.0\n  reef fleet rollout 1.5.0 --simulated sims\n  reef fleet rollback --simulated sims',
    );
  const registryOption = ['--registry <file>', 'the registry (JSON)', DEFAULT_REGISTRY] as const;
  const awsOption = ['--aws', 'the installations are deployed in AWS: reach them through their vendor roles with your own AWS credentials'] as const;
  const releaseOption = ['--release <url>', 'with --aws: base URL of the release templates, <url>/<version>/<installation>/<stack>.template.json'] as const;
  const simulatedOption = ['--simulated <dir>', 'the installations are simulated ones under this directory'] as const;

  group
    .command('list')
    .option(...registryOption)
    .option('--json', 'print one JSON object')
    .description('every registered installation: name, account, region, version, channel')
    .action((options: { registry: string; json?: boolean }) => {
      const registry = readRegistry(options.registry);
      if (options.json) {
        process.stdout.write(JSON.stringify(registry, null, 2) + '\n');
        return;
      }
      const rows = [['name', 'account', 'region', 'version', 'channel']];
      for (const i of registry.installations) rows.push([i.name, i.account, i.region, i.version, i.channel]);
      process.stdout.write(table(rows) + '\n');
    });

  group
    .command('add')
    .argument('<name>', "the installation's name (its reef.yaml name)")
    .requiredOption('--account <id>', 'its AWS account id (12 digits)')
    .requiredOption('--region <region>', 'its AWS region')
    .requiredOption('--external-id <id>', 'the sts:ExternalId of its vendor roles (reef.yaml vendor.externalId)')
    .requiredOption('--installed <v>', 'the Reef version it runs')
    .option('--channel <c>', 'its release channel', 'stable')
    .option(...registryOption)
    .description('register an installation (a name already registered is refused)')
    .action((name: string, options: { account: string; region: string; externalId: string; installed: string; channel: string; registry: string }) => {
      const { account, region, externalId, installed: version, channel } = options;
      const registry = addInstallation(options.registry, { name, account, region, externalId, version, channel });
      process.stdout.write(`Registered ${name}; ${registry.installations.length} installation(s) in ${options.registry}.\n`);
    });

  group
    .command('simulate')
    .requiredOption('--simulated <dir>', 'where the simulated installations go')
    .option('--count <n>', 'how many', '50')
    .option('--installed <v>', 'the version they run', '1.0.0')
    .option('--channel <c>', 'their channel', 'stable')
    .option(...registryOption)
    .description('create simulated installations (a directory each) and a registry naming them, to try rollouts offline')
    .action((options: { simulated: string; count: string; installed: string; channel: string; registry: string }) => {
      const count = /^\d{1,4}$/.test(options.count) ? Number(options.count) : 0;
      if (count < 1) throw new TerminalError('config', `--count is ${JSON.stringify(options.count)}; expected a whole number from 1 to 9999`, { code: 'fleet.invalid-count' });
      createSimulatedFleet({ root: options.simulated, registry: options.registry, count, version: options.installed, channel: options.channel });
      process.stdout.write(`Created ${count} simulated installations under ${options.simulated}, registered in ${options.registry}.\n`);
    });

  group
    .command('rollout')
    .argument('[version]', 'the version to roll out (not with --resume)')
    .option('--channel <c>', 'the channel to roll it out to', 'stable')
    .option('--waves <list>', 'cumulative percentages after the canary, ending at 100', DEFAULT_WAVES)
    .option('--resume', 'continue the halted rollout (failed upgrades tried again, failed gates looked at again)')
    .option(...awsOption)
    .option(...releaseOption)
    .option(...simulatedOption)
    .option(...registryOption)
    .option('--json', 'print the rollout state as one JSON object')
    .description('upgrade a channel in waves (a canary, then growing percentages); halts at the first failing health gate')
    .addHelpText(
      'after',
      '\nA gate passes when the installation runs the new version, every slice is healthy and no batch failed since its upgrade.\n' +
        'With --aws, an upgrade lists the slice stacks with the monitoring role, then updates each one (collect, organize, harness)\n' +
        "to <release>/<version>/<installation>/<stack>.template.json with the upgrade role, which IAM allows only while the customer's\n" +
        'upgrade window is open (reef vendor-access grant-upgrade <flow> --hours N --aws); the core stack is never updated. A gate reads\n' +
        "the stacks' status and ReefVersion output and the batches in the metadata table, with the monitoring role.\n" +
        'The state is kept beside the registry (fleet.rollout.json). Exit status 1 when halted.',
    )
    .action(async (version: string | undefined, options: DriverOptions & { channel: string; waves: string; resume?: boolean }) => {
      if (options.resume && version !== undefined) throw new TerminalError('config', `--resume continues the halted rollout; found a version (${version}) too, expected none`, { code: 'fleet.invalid-arguments' });
      if (!options.resume && version === undefined) throw new TerminalError('config', 'no version given; expected `reef fleet rollout <version>` or `--resume`', { code: 'fleet.invalid-arguments' });
      const percentages = parseWaves(options.waves);
      const state = await withDriver(options, (driver) =>
        options.resume ? resumeRollout({ registry: options.registry, driver }) : startRollout({ registry: options.registry, driver, version: version!, channel: options.channel, percentages }),
      );
      printState(state, options);
    });

  group
    .command('rollback')
    .option(...awsOption)
    .option(...releaseOption)
    .option(...simulatedOption)
    .option(...registryOption)
    .option('--json', 'print the rollout state as one JSON object')
    .description("take every installation the last rollout touched back to its previous version (with --aws: that version's templates under --release)")
    .action(async (options: DriverOptions) => {
      const { state, errors } = await withDriver(options, (driver) => rollbackRollout({ registry: options.registry, driver }));
      for (const e of errors) process.stderr.write(`reef: could not roll back ${e.installation}: ${e.reason}\n`);
      if (options.json) process.stdout.write(JSON.stringify({ ...state, errors }, null, 2) + '\n');
      else process.stdout.write(`Rollout of ${state.version}: ${state.status}.\n`);
      if (errors.length > 0) process.exitCode = 1;
    });
}
