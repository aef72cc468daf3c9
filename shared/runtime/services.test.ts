/**
 * What leaves a handler is what the state machine's Retry and Catch match on:
 * the error's name decides whether a retry happens, so it must survive a
 * Lambda entry point that wraps an already wrapped handler.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TerminalError, TransientError, TRANSIENT_ERROR_NAME, TERMINAL_ERROR_NAME } from '../errors.ts';
import { atBoundary } from './services.ts';

test('a transient error stays transient, with its one-line message, through two boundaries', async () => {
  const inner = atBoundary(async () => {
    throw new TransientError('source', 'cannot reach the source', { code: 'source.unreachable' });
  });
  const outer = atBoundary((input) => inner(input));
  await assert.rejects(outer({}), (e: Error) => {
    assert.equal(e.name, TRANSIENT_ERROR_NAME);
    assert.equal(e.message, 'source error (source.unreachable): cannot reach the source');
    return true;
  });
});

test('a terminal error and a plain bug are shaped once: terminal, with category and code', async () => {
  const terminal = atBoundary(atBoundary(async () => {
    throw new TerminalError('config', 'secret x is missing', { code: 'config.secret' });
  }));
  await assert.rejects(terminal({}), { name: TERMINAL_ERROR_NAME, message: 'config error (config.secret): secret x is missing' });
  const bug = atBoundary(atBoundary(async () => {
    throw new TypeError('x is undefined');
  }));
  await assert.rejects(bug({}), { name: TERMINAL_ERROR_NAME, message: 'internal error (internal.unexpected): x is undefined' });
});
