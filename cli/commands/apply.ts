import type { Command } from 'commander';
import { loadFlow } from '../../shared/flow/load.ts';
import { applyPlan, planFlow } from '../../shared/local/apply.ts';
import { LocalRuntime } from '../../shared/local/runtime.ts';
import { organizePass, publishPass } from '../../shared/local/run.ts';
import { formatPlan } from '../../shared/plan/format.ts';

interface ApplyOptions {
  json?: boolean;
  allowBreaking?: boolean;
}

export function register(program: Command): void {
  program
    .command('apply')
    .argument('<flow>', 'the flow directory (holds reef.yaml)')
    .option('--json', 'print one JSON object: applied, the plan, the update set and any messages')
    .option('--allow-breaking', 'apply even when a view that does not change reads a column the plan removes or retypes')
    .description('store the plan `reef plan` shows: slice configs, new view versions, and the update set that switches them at one timelabel')
    .addHelpText('after', '\nExample:\n  reef plan examples/shop && reef apply examples/shop')
    .action(async (dir: string, options: ApplyOptions) => {
      const flow = await loadFlow(dir);
      const runtime = await LocalRuntime.start(flow, { full: true });
      try {
        const plan = await planFlow(runtime, flow);
        const result = await applyPlan(runtime, plan, { allowBreaking: options.allowBreaking === true });
        // Paused views catch up at once: their missed periods refresh in order with the fix, then their publications.
        const catchUp = result.applied && (result.updateSet?.catchUp?.length ?? 0) > 0 ? { organized: await organizePass(runtime), published: await publishPass(runtime) } : undefined;
        if (options.json) {
          process.stdout.write(JSON.stringify({ ...result, plan }, null, 2) + '\n');
        } else if (result.applied) {
          process.stdout.write(formatPlan(plan));
          for (const m of result.messages) process.stdout.write(`warning: ${m}\n`);
          const u = result.updateSet;
          process.stdout.write(u ? `Applied update set ${u.id}: ${u.views.join(', ')} switch from ${u.effectiveFrom}.\n` : plan.stages.length > 0 ? 'Applied the slice configs; no view changes.\n' : '');
          if (catchUp) {
            const count = (xs: { status: string }[], status: string) => xs.filter((x) => x.status === status).length;
            process.stdout.write(`Caught up: ${count(catchUp.organized, 'refreshed')} period(s) refreshed, ${count(catchUp.published, 'published')} published, ${count([...catchUp.organized, ...catchUp.published], 'failed')} failed.\n`);
          }
        }
        if (!result.applied) {
          // One line per breaking view, so a script or a person sees each one.
          for (const m of result.messages) process.stderr.write(`reef: refused: ${m}\n`);
          process.exitCode = 1;
        }
      } finally {
        await runtime.stop();
      }
    });
}
