/**
 * How a flow's problems are reported: every problem of every file at once,
 * one line each, `file:line[:col]: message`, so a user fixes them in one go.
 */
import { TerminalError } from '../errors.ts';

/** One thing wrong with a flow. `line` and `col` are 1-based; absent when the problem has no place in a file. */
export interface FlowProblem {
  file: string;
  line?: number;
  col?: number;
  /** Starts with the field (`loadunits[1].mode: ...`) when there is one. */
  message: string;
}

/** Every problem of a flow at once; the message has one line per problem. */
export class FlowConfigError extends TerminalError {
  readonly problems: readonly FlowProblem[];

  constructor(problems: readonly FlowProblem[]) {
    super('config', problems.map(formatProblem).join('\n'), { code: 'config.invalid' });
    this.problems = problems;
  }
}

export function formatProblem(p: FlowProblem): string {
  const place = p.line === undefined ? p.file : p.col === undefined ? `${p.file}:${p.line}` : `${p.file}:${p.line}:${p.col}`;
  return `${place}: ${p.message}`;
}

export function sortProblems(problems: FlowProblem[]): FlowProblem[] {
  // Array.prototype.sort is stable, so problems on one line keep the order they were found in.
  return problems.sort((a, b) => {
    if (a.file !== b.file) return a.file < b.file ? -1 : 1;
    return (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0);
  });
}
