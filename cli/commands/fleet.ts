import type { Command } from 'commander';
import { TerminalError } from '../../shared/errors.ts';
import { addInstallation, readRegistry } from '../../shared/fleet/registry.ts';
import type { FleetDriver, RolloutState } from '../../shared/fleet/rollout.ts';
import { parseWaves, resumeRollout, rollbackRollout, rolloutStatePath, startRollout } from '../../shared/fleet/rollout.ts';
import { createSimulatedFleet, SimulatedFleet } from '../../shared/fleet/simulated.ts';
import { table } from '../progress.ts';

const DEFAULT_REGISTRY = 'fleet.json';
const DEFAULT_WAVES = '1,10,50,100';

interface DriverOptions {
  registry: string;
  simulated?: string;
  json?: boolean;
}

/** The simulated driver, or a clear refusal: the AWS driver is described in shared/fleet/rollout.ts, not written. */
function driverFor(options: DriverOptions): FleetDriver {
  if (options.simulated !== undefined) return new SimulatedFleet(options.simulated);
  throw new TerminalError(
    'config',
    'rollouts to AWS installations are not available yet (the STS and CloudFormation SDK clients are not among Reef\'s dependencies); expected --simulated <dir> naming simulated installations (reef fleet simulate)',
    { code: 'fleet.aws-unavailable' },
  );
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
      '\nExamples:\n  reef fleet simulate --simulated sims --count 50 --installed 1.4.0\n  reef fleet list\n' +
        '  reef fleet rollout 1.5.0 --channel stable --waves 1,10,50,100 --simulated sims\n  reef fleet rollout --resume --simulated sims\n  reef fleet rollback --simulated sims',
    );
  const registryOption = ['--registry <file>', 'the registry (JSON)', DEFAULT_REGISTRY] as const;

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
    .option('--simulated <dir>', 'the installations are simulated ones under this directory')
    .option(...registryOption)
    .option('--json', 'print the rollout state as one JSON object')
    .description('upgrade a channel in waves (a canary, then growing percentages); halts at the first failing health gate')
    .addHelpText('after', '\nA gate passes when the installation runs the new version, every slice is healthy and no batch failed since its upgrade.\nThe state is kept beside the registry (fleet.rollout.json). Exit status 1 when halted.')
    .action(async (version: string | undefined, options: DriverOptions & { channel: string; waves: string; resume?: boolean }) => {
      if (options.resume && version !== undefined) throw new TerminalError('config', `--resume continues the halted rollout; found a version (${version}) too, expected none`, { code: 'fleet.invalid-arguments' });
      if (!options.resume && version === undefined) throw new TerminalError('config', 'no version given; expected `reef fleet rollout <version>` or `--resume`', { code: 'fleet.invalid-arguments' });
      const percentages = parseWaves(options.waves);
      const driver = driverFor(options);
      const state = options.resume
        ? await resumeRollout({ registry: options.registry, driver })
        : await startRollout({ registry: options.registry, driver, version: version!, channel: options.channel, percentages });
      printState(state, options);
    });

  group
    .command('rollback')
    .option('--simulated <dir>', 'the installations are simulated ones under this directory')
    .option(...registryOption)
    .option('--json', 'print the rollout state as one JSON object')
    .description('take every installation the last rollout touched back to its previous version')
    .action(async (options: DriverOptions) => {
      const { state, errors } = await rollbackRollout({ registry: options.registry, driver: driverFor(options) });
      for (const e of errors) process.stderr.write(`reef: could not roll back ${e.installation}: ${e.reason}\n`);
      if (options.json) process.stdout.write(JSON.stringify({ ...state, errors }, null, 2) + '\n');
      else process.stdout.write(`Rollout of ${state.version}: ${state.status}.\n`);
      if (errors.length > 0) process.exitCode = 1;
    });
}
