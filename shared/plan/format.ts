/** A plan for people: one line per stage, downstream views indented under the view that affects them. */
import type { AffectedView, ColumnChanges, Plan, PlanStage } from './types.ts';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function columnText(c: ColumnChanges): string {
  return [
    ...c.removed.map((x) => `-${x.name} ${x.type}`),
    ...c.added.map((x) => `+${x.name} ${x.type}`),
    ...c.retyped.map((x) => `~${x.name} ${x.from} → ${x.to}`),
  ].join(', ');
}

function affectedLines(affected: readonly AffectedView[]): string[] {
  return affected.map((a) => {
    if (!a.breaking) return `      affects ${a.view}: non-breaking`;
    const columns = a.columns.map((c) => `${c.column} (${c.change}${c.via === 'column' ? '' : `, read via ${c.via}`}${c.resolved ? ', resolved: it no longer reads it' : ''})`);
    const unresolved = a.columns.some((c) => !c.resolved);
    return `      affects ${a.view}: BREAKING${unresolved ? '' : ' (resolved)'}, reads ${columns.join(', ')}`;
  });
}

function stageLines(s: PlanStage): string[] {
  switch (s.kind) {
    case 'add-slice':
      return [`  + add slice ${s.slice} (${s.type})`];
    case 'change-slice':
      return [`  ~ change slice ${s.slice} (${s.fromType ? `${s.fromType} → ` : ''}${s.type}) from config v${s.fromVersion}${s.changedFields.length ? `: ${s.changedFields.join(', ')}` : ''}`];
    case 'remove-slice':
      return [`  - remove slice ${s.slice} (${s.type})`];
    case 'create-view':
      return [`  + create view ${s.view} (${s.refresh}, ${s.mode}) from ${s.file}`, ...affectedLines(s.affected)];
    case 'change-view': {
      const what = [s.sqlChanged ? 'sql' : '', s.headerChanged.length ? `header (${s.headerChanged.join(', ')})` : '', columnText(s.columns) ? `columns ${columnText(s.columns)}` : '']
        .filter((x) => x !== '')
        .join('; ');
      return [`  ~ change view ${s.view} from v${s.fromVersion}: ${what}`, ...affectedLines(s.affected)];
    }
    case 'remove-view':
      return [`  - remove view ${s.view} (was v${s.fromVersion})`, ...affectedLines(s.affected)];
    case 'switch':
      return [`  = switch update set ${s.updateSet} at ${s.effectiveFrom}: ${s.views.join(', ')}`];
    case 'backfill':
      return [`  > backfill ${s.view} from ${s.from} (${s.reason})`];
  }
}

export function formatPlan(plan: Plan): string {
  if (plan.stages.length === 0) return 'No changes: the installation already runs this flow.\n';
  const s = plan.summary;
  const counts = [
    [s.slicesAdded, 'slice added'],
    [s.slicesChanged, 'slice changed'],
    [s.slicesRemoved, 'slice removed'],
    [s.viewsCreated, 'view created'],
    [s.viewsChanged, 'view changed'],
    [s.viewsRemoved, 'view removed'],
    [s.viewsAffected, 'view affected'],
  ] as const;
  const head = counts
    .filter(([n]) => n > 0)
    .map(([n, what]) => {
      const [noun, ...rest] = what.split(' ');
      return `${plural(n, noun)} ${rest.join(' ')}`;
    });
  if (s.breaking > 0) head.push(`${plural(s.breaking, 'breaking change')} (${s.unresolvedBreaking} unresolved)`);
  const lines = [`Plan: ${head.join(', ')}`, ...plan.stages.flatMap(stageLines)];
  if (plan.updateSet) lines.push(`Update set ${plan.updateSet.id} takes effect at timelabel ${plan.updateSet.effectiveFrom}.`);
  for (const c of plan.updateSet?.catchUp ?? []) lines.push(`Paused view ${c.view} catches up from timelabel ${c.from}, its first paused period, with its new version.`);
  return `${lines.join('\n')}\n`;
}
