import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { snappyUncompress } from 'hysnappy';
import { snappyCompress } from './snappy.ts';

/** hysnappy's decompressor (an independent implementation) must give back the input. */
function roundTrips(input: Uint8Array): void {
  const compressed = snappyCompress(input);
  assert.ok(compressed.length <= 32 + input.length + Math.floor(input.length / 6), 'within snappy\'s worst case');
  const back = snappyUncompress(compressed, input.length);
  assert.equal(Buffer.compare(Buffer.from(back), Buffer.from(input)), 0);
}

test('snappy: edge sizes and shapes decompress to the input with hysnappy', () => {
  const cases: Uint8Array[] = [
    new Uint8Array(0),
    new Uint8Array([7]),
    new Uint8Array(14).fill(1), // shorter than the reference's input margin
    new Uint8Array(15).fill(1),
    new Uint8Array(65536).fill(0), // one whole block of a single byte: long copies
    new Uint8Array(65537).fill(3), // crosses the 64 KiB block boundary
    new Uint8Array(200_000).map((_, i) => (i * 2654435761) >>> 24), // incompressible: the skip heuristic
    new Uint8Array(300_000).map((_, i) => (i % 251) ^ (i >> 12)), // repeats at varied distances
    Buffer.from('abcd'.repeat(40_000)), // copies of exactly 64 and 60..68 bytes
  ];
  for (const c of cases) roundTrips(c);
});

test('snappy: random inputs (mixtures of runs, repeats and noise) round-trip', () => {
  const piece = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 5000 })).map(([b, n]) => new Uint8Array(n).fill(b)),
    fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 400 })).map(([p, n]) => {
      const out = new Uint8Array(p.length * n);
      for (let i = 0; i < n; i++) out.set(p, i * p.length);
      return out;
    }),
  );
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 30 }), (pieces) => {
      roundTrips(Buffer.concat(pieces));
    }),
    { numRuns: 300 },
  );
});
