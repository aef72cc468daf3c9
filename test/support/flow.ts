/**
 * Test flows: a copy of an example (or a flow written from scratch) in a
 * temporary directory, so every test gets its own `.reef/` state; and the real
 * `reef` CLI run as a child process, as a user runs it.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Copies `examples/<name>` (without its `.reef/` state) into a fresh temp dir. */
export function copyExample(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `reef-${name}-`));
  cpSync(join(REPO, 'examples', name), dir, { recursive: true, filter: (src) => !src.includes(`${'/'}.reef`) });
  return dir;
}

/** Writes a flow from a map of relative path → content. */
export function writeFlow(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'reef-flow-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `reef <args>` with the repo's Node 24 and no terminal, like CI. */
export function reef(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--openssl-legacy-provider', join(REPO, 'cli/reef.ts'), ...args], {
      cwd: REPO,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
  });
}
