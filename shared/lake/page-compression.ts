/**
 * Snappy for a row group's pages: in a worker thread, so it runs while the
 * next batch is decoded, or in this thread when no worker can start, offload
 * is off or nothing needs compressing. Either way `pages` holds (offset,
 * length, compress?) triples into the input, and the result (offset, length)
 * pairs into `data`.
 */
import { Worker } from 'node:worker_threads';
import { createSnappy, type Snappy } from './snappy.ts';
import { TerminalError } from '../errors.ts';

export interface CompressedPages {
  /** The pages as written, (offset, length) pairs into `data`, in the order given. */
  data: Uint8Array;
  pages: Int32Array;
  /** The input, handed back by the worker so its memory can be reused. */
  input?: Uint8Array;
}

/** Worker output buffers whose pages are already copied into a part (PartWriter returns them). */
export const outputs: Uint8Array[] = [];

/**
 * The pages into `data` (room: maxCompressedLength for each page to
 * compress, its length for the rest). Self-contained on purpose: its source
 * text is the worker's too, so both threads write pages the same way.
 */
function compressPagesInto(snappy: Snappy, input: Uint8Array, pages: Int32Array, data: Uint8Array): Int32Array {
  const out = new Int32Array((pages.length / 3) * 2);
  let op = 0;
  for (let i = 0, j = 0; i < pages.length; i += 3, j += 2) {
    const start = op;
    if (pages[i + 2]) {
      op = snappy.compressInto(input, pages[i], pages[i] + pages[i + 1], data, op);
    } else {
      data.set(input.subarray(pages[i], pages[i] + pages[i + 1]), op);
      op += pages[i + 1];
    }
    out[j] = start;
    out[j + 1] = op - start;
  }
  return out;
}

/**
 * The worker's source: createSnappy's and compressPagesInto's own text and a
 * message loop. Started from text rather than a file so it works unchanged
 * inside a bundle. `__name` stands in for the helper esbuild's keepNames
 * inserts into function bodies.
 */
const WORKER_SOURCE = `'use strict';
var __name = (f) => f;
const { parentPort } = require('node:worker_threads');
const snappy = (${createSnappy.toString()})();
const compressPagesInto = (${compressPagesInto.toString()});
parentPort.on('message', ({ id, input, pages, spare }) => {
  try {
    let room = 0;
    for (let i = 0; i < pages.length; i += 3) room += pages[i + 2] ? snappy.maxCompressedLength(pages[i + 1]) : pages[i + 1];
    const data = spare && spare.length >= room ? spare : new Uint8Array(Math.ceil(room * 1.1));
    const out = compressPagesInto(snappy, input, pages, data);
    parentPort.postMessage({ id, data, pages: out, input }, [data.buffer, input.buffer]);
  } catch (e) {
    parentPort.postMessage({ id, error: String((e && e.stack) || e) });
  }
});
`;

/**
 * One compression worker for the process, shared by every PartWriter and
 * started on first use. It holds the event loop open only while jobs are
 * pending, and is replaced if it dies.
 */
class CompressionWorker {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, { resolve: (r: CompressedPages) => void; reject: (e: unknown) => void }>();
  private nextId = 0;
  private broken = false;

  /** False when workers cannot start here; callers then compress in their own thread. */
  get available(): boolean {
    if (this.broken) return false;
    if (!this.worker) {
      try {
        this.start();
      } catch {
        this.broken = true;
      }
    }
    return !this.broken;
  }

  private start(): void {
    const w = new Worker(WORKER_SOURCE, { eval: true });
    w.unref();
    w.on('message', (m: { id: number; data?: Uint8Array; pages?: Int32Array; input?: Uint8Array; error?: string }) => {
      const job = this.pending.get(m.id);
      if (!job) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) w.unref();
      if (m.error !== undefined) job.reject(new TerminalError('internal', `the compression worker failed: ${m.error}`, { code: 'internal.compression' }));
      else job.resolve({ data: m.data!, pages: m.pages!, input: m.input });
    });
    const fail = (e: unknown): void => {
      if (this.worker === w) this.worker = undefined;
      const error = new TerminalError('internal', `the compression worker stopped: ${e instanceof Error ? e.message : String(e)}`, { code: 'internal.compression', cause: e });
      for (const job of this.pending.values()) job.reject(error);
      this.pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    this.worker = w;
  }

  compress(input: Uint8Array, pages: Int32Array): Promise<CompressedPages> {
    if (!this.worker) this.start();
    const w = this.worker!;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) w.ref();
      this.pending.set(id, { resolve, reject });
      // The input is this job's own buffer, so it moves to the worker without a copy (and comes
      // back with the result); a spent output buffer goes along to be filled again.
      const spare = outputs.pop();
      const message = { id, input, pages, spare };
      w.postMessage(message, spare ? [input.buffer as ArrayBuffer, spare.buffer as ArrayBuffer] : [input.buffer as ArrayBuffer]);
    });
  }
}

export const worker = new CompressionWorker();
let inline: Snappy | undefined;

/** Same contract as the worker: `pages` holds (offset, length, compress?) triples; the result (offset, length) pairs. */
export function compressInline(input: Uint8Array, pages: Int32Array): CompressedPages {
  let room = 0;
  for (let i = 0; i < pages.length; i += 3) if (pages[i + 2]) room += (inline ??= createSnappy()).maxCompressedLength(pages[i + 1]);
  if (room === 0) {
    const out = new Int32Array((pages.length / 3) * 2);
    // Nothing to compress: the pages stay where they are.
    for (let i = 0, j = 0; i < pages.length; i += 3, j += 2) {
      out[j] = pages[i];
      out[j + 1] = pages[i + 1];
    }
    return { data: input, pages: out };
  }
  for (let i = 0; i < pages.length; i += 3) if (!pages[i + 2]) room += pages[i + 1];
  const data = new Uint8Array(room);
  return { data, pages: compressPagesInto(inline!, input, pages, data) };
}
