/**
 * One request (a harness batch, a notification) POSTed until the receiver
 * accepts it, or until it is clear it will not: 2xx accepts; 408, 429, 5xx
 * and network errors are retried with exponential backoff and jitter (never
 * sooner than a Retry-After says); every other status is an answer that
 * retrying will not change. Redirects
 * are not followed: fetch would turn the POST into a GET on a 301 or 302.
 */
export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  timeoutMs: number;
}

/** Time, injectable so tests never wait; by default real timers, Math.random and the system clock. */
export interface DeliveryClock {
  sleep(ms: number): Promise<void>;
  /** In [0, 1): the jitter. */
  random(): number;
  /** Epoch milliseconds: a Retry-After given as an HTTP date is measured from it. */
  now(): number;
}

export const REAL_CLOCK: DeliveryClock = {
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
  now: Date.now,
};

export interface DeliveryRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export type DeliveryOutcome =
  | { delivered: true; status: number; attempts: number }
  | {
      delivered: false;
      /** False when the receiver refused the request (a status retrying will not change); true when the attempts ran out. */
      retryable: boolean;
      /** The last HTTP status, when the receiver answered at all. */
      status?: number;
      /** What went wrong with the last request, without the response body (it may echo what was sent). */
      error: string;
      attempts: number;
    };

type Attempt = { kind: 'accepted'; status: number } | { kind: 'retry'; status?: number; error: string; retryAfterMs?: number } | { kind: 'refused'; status: number; error: string };

/** 408 is the receiver saying it gave up waiting for the request: as worth retrying as a dropped connection. */
function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Retry-After as delta-seconds or as an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Equal jitter: half the doubled delay for sure, the other half at random, so waits grow and spread at once. */
export function backoffMs(policy: RetryPolicy, failures: number, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failures - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

function networkError(e: unknown, timeoutMs: number): string {
  const err = e as { name?: unknown; message?: unknown; cause?: unknown };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const cause = err?.cause as { code?: unknown; message?: unknown; errors?: { code?: unknown }[] } | undefined;
  const code = typeof cause?.code === 'string' ? cause.code : Array.isArray(cause?.errors) ? cause.errors.map((x) => x.code).find((c) => typeof c === 'string') : undefined;
  if (typeof code === 'string') return `the connection failed (${code})`;
  const message = typeof cause?.message === 'string' ? cause.message : typeof err?.message === 'string' ? err.message : String(e);
  return `the request failed (${message})`;
}

async function attemptOnce(request: DeliveryRequest, policy: RetryPolicy, clock: DeliveryClock): Promise<Attempt> {
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(policy.timeoutMs),
    });
  } catch (e) {
    return { kind: 'retry', error: networkError(e, policy.timeoutMs) };
  }
  // The body is not read: nothing in it changes the outcome, and it may echo what was sent.
  await response.body?.cancel().catch(() => {});
  const status = response.status;
  if (status >= 200 && status <= 299) return { kind: 'accepted', status };
  const said = `the receiver answered ${status}${response.statusText ? ` ${response.statusText}` : ''}`;
  if (retryableStatus(status)) return { kind: 'retry', status, error: said, retryAfterMs: retryAfterMs(response.headers.get('retry-after'), clock.now()) };
  if (status >= 300 && status <= 399) return { kind: 'refused', status, error: `${said}, a redirect, which is not followed (it would turn the POST into a GET); set url to the address it leads to` };
  return { kind: 'refused', status, error: said };
}

export async function deliver(request: DeliveryRequest, policy: RetryPolicy, clock: DeliveryClock = REAL_CLOCK): Promise<DeliveryOutcome> {
  for (let attempt = 1; ; attempt++) {
    const result = await attemptOnce(request, policy, clock);
    if (result.kind === 'accepted') return { delivered: true, status: result.status, attempts: attempt };
    if (result.kind === 'refused') return { delivered: false, retryable: false, status: result.status, error: result.error, attempts: attempt };
    if (attempt >= policy.attempts) return { delivered: false, retryable: true, status: result.status, error: result.error, attempts: attempt };
    let wait = backoffMs(policy, attempt, clock.random);
    if (result.retryAfterMs !== undefined) {
      if (result.retryAfterMs > policy.maxDelayMs) {
        return {
          delivered: false,
          retryable: true,
          status: result.status,
          error: `${result.error} with Retry-After ${Math.ceil(result.retryAfterMs / 1000)} s, longer than retry.maxDelayMs (${policy.maxDelayMs} ms), so this run stopped asking`,
          attempts: attempt,
        };
      }
      wait = Math.max(wait, result.retryAfterMs);
    }
    await clock.sleep(wait);
  }
}
