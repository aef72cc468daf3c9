/** Whether `reef apply` may go ahead with a plan: only breaking changes stop it. */
import type { BreakingChange, Plan } from './types.ts';

export interface PlanVerdict {
  allowed: boolean;
  /**
   * One per view with an unresolved breaking change, in plan order. Present
   * even when `allowBreaking` lets the plan through, so apply can still warn.
   */
  messages: string[];
}

function describeRead(b: BreakingChange): string {
  const what = b.change === 'removed' ? 'which this plan removes' : `which this plan retypes from ${b.fromType} to ${b.toType}`;
  const how = b.via === '*' ? ' through *' : b.via === 'unqualified' ? ' (an unqualified name the parser cannot place; qualify it if it belongs to another input)' : '';
  return `column ${b.column} of ${b.upstream}${how}, ${what}`;
}

export function planIsAllowed(plan: Plan, options: { allowBreaking: boolean }): PlanVerdict {
  const byView = new Map<string, BreakingChange[]>();
  for (const b of plan.breaking) {
    if (b.resolved) continue;
    byView.set(b.view, [...(byView.get(b.view) ?? []), b]);
  }
  const messages = [...byView].map(
    ([view, changes]) =>
      `view ${view} reads ${changes.map(describeRead).join('; and ')}; ` +
      `expected ${view} to change in the same plan so it no longer reads ${changes.length === 1 ? 'it' : 'them'}, or apply with --allow-breaking`,
  );
  return { allowed: messages.length === 0 || options.allowBreaking, messages };
}
