/**
 * Snappy compression, a port of the reference implementation's
 * CompressFragment (github.com/google/snappy, snappy.cc) to TypeScript.
 *
 * Why not hysnappy (WebAssembly): it omits the reference's skip heuristic, so
 * bytes snappy cannot shrink (random UUIDs, hashes) cost as much as bytes it
 * can; this port is 10x faster on those and within ~20% on the rest
 * (bench/README.md). And being plain code it runs in a worker thread started
 * from source text, which survives bundling (see page-compression.ts).
 *
 * `createSnappy` is self-contained on purpose: its source text is the worker's.
 * Output is standard snappy; tests decompress it with hysnappy.
 */

export interface Snappy {
  /** Compress `src[start, end)` into `dst` at `op` (room: maxCompressedLength); returns the new end. */
  compressInto(src: Uint8Array, start: number, end: number, dst: Uint8Array, op: number): number;
  /** The largest output for `n` input bytes. */
  maxCompressedLength(n: number): number;
}

export function createSnappy(): Snappy {
  // Snappy compresses 64 KiB blocks independently; copy offsets stay inside a block.
  const BLOCK_SIZE = 1 << 16;
  const MAX_TABLE_BITS = 14;
  // The reference keeps 15 bytes of slack at a block's end for its wide loads.
  const INPUT_MARGIN = 15;
  const table = new Uint16Array(1 << MAX_TABLE_BITS);
  let view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  let viewOf: ArrayBufferLike | undefined;

  function maxCompressedLength(n: number): number {
    return 32 + n + Math.floor(n / 6);
  }

  function compressInto(src: Uint8Array, start: number, end: number, dst: Uint8Array, op: number): number {
    // Preamble: the uncompressed length as a varint.
    let n = end - start;
    while (n >= 0x80) {
      dst[op++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    dst[op++] = n;
    if (viewOf !== src.buffer) {
      view = new DataView(src.buffer);
      viewOf = src.buffer;
    }
    for (let block = start; block < end; block += BLOCK_SIZE) {
      op = fragment(src, block, Math.min(block + BLOCK_SIZE, end), dst, op);
    }
    return op;
  }

  function fragment(src: Uint8Array, base: number, end: number, dst: Uint8Array, op: number): number {
    const dv = view;
    const o = src.byteOffset;
    const size = end - base;
    let bits = 8;
    while (bits < MAX_TABLE_BITS && 1 << bits < size) bits++;
    const shift = 32 - bits;
    const t = table;
    t.fill(0, 0, 1 << bits);
    let nextEmit = base;
    let ip = base;
    if (size >= INPUT_MARGIN) {
      const ipLimit = end - INPUT_MARGIN;
      ip++;
      let nextHash = Math.imul(dv.getInt32(o + ip, true), 0x1e35a7bd) >>> shift;
      outer: for (;;) {
        // Find a 4-byte match. After 32 misses look at every 2nd byte, then every 3rd...
        let skip = 32;
        let nextIp = ip;
        let candidate: number;
        do {
          ip = nextIp;
          const hash = nextHash;
          const step = skip >> 5;
          skip += step;
          nextIp = ip + step;
          if (nextIp > ipLimit) break outer;
          nextHash = Math.imul(dv.getInt32(o + nextIp, true), 0x1e35a7bd) >>> shift;
          candidate = base + t[hash];
          t[hash] = ip - base;
        } while (dv.getInt32(o + ip, true) !== dv.getInt32(o + candidate, true));

        op = literal(src, nextEmit, ip, dst, op);

        // Emit copies while the bytes right after a match match again.
        let current: number;
        do {
          const matchBase = ip;
          let a = candidate + 4;
          let b = ip + 4;
          while (b + 4 <= end && dv.getInt32(o + a, true) === dv.getInt32(o + b, true)) {
            a += 4;
            b += 4;
          }
          while (b < end && src[a] === src[b]) {
            a++;
            b++;
          }
          ip = b;
          op = copy(dst, op, matchBase - candidate, ip - matchBase);
          nextEmit = ip;
          if (ip >= ipLimit) break outer;
          t[Math.imul(dv.getInt32(o + ip - 1, true), 0x1e35a7bd) >>> shift] = ip - 1 - base;
          const curHash = Math.imul(dv.getInt32(o + ip, true), 0x1e35a7bd) >>> shift;
          candidate = base + t[curHash];
          t[curHash] = ip - base;
          current = dv.getInt32(o + ip, true);
        } while (current === dv.getInt32(o + candidate, true));
        ip++;
        nextHash = Math.imul(dv.getInt32(o + ip, true), 0x1e35a7bd) >>> shift;
      }
    }
    if (nextEmit < end) op = literal(src, nextEmit, end, dst, op);
    return op;
  }

  function literal(src: Uint8Array, from: number, to: number, dst: Uint8Array, op: number): number {
    const len = to - from;
    if (len === 0) return op;
    const n = len - 1;
    if (n < 60) {
      dst[op++] = n << 2;
    } else if (n < 0x100) {
      dst[op++] = 60 << 2;
      dst[op++] = n;
    } else if (n < 0x10000) {
      dst[op++] = 61 << 2;
      dst[op++] = n & 0xff;
      dst[op++] = n >>> 8;
    } else if (n < 0x1000000) {
      dst[op++] = 62 << 2;
      dst[op++] = n & 0xff;
      dst[op++] = (n >>> 8) & 0xff;
      dst[op++] = n >>> 16;
    } else {
      dst[op++] = 63 << 2;
      dst[op++] = n & 0xff;
      dst[op++] = (n >>> 8) & 0xff;
      dst[op++] = (n >>> 16) & 0xff;
      dst[op++] = n >>> 24;
    }
    if (len < 32) {
      for (let i = from; i < to; i++) dst[op++] = src[i];
      return op;
    }
    dst.set(src.subarray(from, to), op);
    return op + len;
  }

  function copy(dst: Uint8Array, op: number, offset: number, len: number): number {
    while (len >= 68) {
      op = copyUpTo64(dst, op, offset, 64);
      len -= 64;
    }
    if (len > 64) {
      op = copyUpTo64(dst, op, offset, 60);
      len -= 60;
    }
    return copyUpTo64(dst, op, offset, len);
  }

  function copyUpTo64(dst: Uint8Array, op: number, offset: number, len: number): number {
    if (len < 12 && offset < 2048) {
      dst[op++] = 1 | ((len - 4) << 2) | ((offset >>> 8) << 5);
      dst[op++] = offset & 0xff;
    } else {
      dst[op++] = 2 | ((len - 1) << 2);
      dst[op++] = offset & 0xff;
      dst[op++] = offset >>> 8;
    }
    return op;
  }

  return { compressInto, maxCompressedLength };
}

const shared = createSnappy();

/** Compress `input` into a new Uint8Array. */
export function snappyCompress(input: Uint8Array): Uint8Array {
  const dst = new Uint8Array(shared.maxCompressedLength(input.length));
  const n = shared.compressInto(input, 0, input.length, dst, 0);
  return dst.slice(0, n);
}
