/**
 * Which columns a published view lost between its applied versions, and which
 * timelabels a loss reaches for a publication that maps the column: from the
 * first timelabel without it, until a version has it again, and never for a
 * column the publication does not map.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ViewVersion } from '../metadata/types.ts';
import { lossAt, publicationPauseMessage, viewLosses, type ColumnLoss } from './column-losses.ts';

function version(version: number, effectiveFrom: string, columns: string[], removed = false): ViewVersion {
  return {
    view: 'analytics.ltv', version, effectiveFrom, updateSet: `us${version}`, removed, createdAt: '2026-03-16T00:00:00.000Z',
    sqlHash: `h${version}`, body: 'SELECT 1', header: {} as ViewVersion['header'], reads: [],
    signature: columns.map((name) => ({ name, type: name === 'revenue' ? 'numeric(12,2)' : 'bigint' })),
  };
}

test('a column that leaves the signature is lost from that version on, until a later version outputs it again', () => {
  const losses = viewLosses([
    version(3, '20260316120000', ['customer_id', 'orders', 'revenue']),
    version(1, '20260316000000', ['customer_id', 'orders', 'revenue', 'segment']),
    version(2, '20260316060000', ['customer_id', 'revenue']),
  ]);
  assert.deepEqual(losses, [
    { column: 'orders', change: 'removed', since: '20260316060000', until: '20260316120000', what: 'version 2 of the view no longer outputs it (it was bigint)' },
    { column: 'segment', change: 'removed', since: '20260316060000', what: 'version 2 of the view no longer outputs it (it was bigint)' },
  ]);
  assert.deepEqual(viewLosses([version(1, '20260316000000', ['a'])]), [], 'one version loses nothing');
  assert.deepEqual(viewLosses([version(1, '20260316000000', ['a']), version(2, '20260316010000', ['a'], true)]), [], 'a removal retires the view, it is not a lost column');
});

test('a loss reaches the timelabels from its first on, for mapped columns only', () => {
  const losses: ColumnLoss[] = [
    { column: 'category', change: 'dropped', since: '20260316121500', what: 'the source dropped it (it was text)' },
    { column: 'orders', change: 'removed', since: '20260316060000', until: '20260316120000', what: 'gone for a while' },
  ];
  assert.equal(lossAt(losses, ['id', 'category'], '20260316120000'), undefined, 'before the drop');
  assert.equal(lossAt(losses, ['id', 'category'], '20260316121500')?.column, 'category');
  assert.equal(lossAt(losses, ['id', 'category'], '20260317000000')?.column, 'category');
  assert.equal(lossAt(losses, ['id', 'sku'], '20260316121500'), undefined, 'a column the publication does not map');
  assert.equal(lossAt(losses, ['orders'], '20260316060000')?.column, 'orders');
  assert.equal(lossAt(losses, ['orders'], '20260316120000'), undefined, 'back from 12:00');
});

test('the pause message names the publication, the column, the change and the file to edit', () => {
  const message = publicationPauseMessage('product-feed', 'publications/product-feed.yaml', 'shop.products', {
    column: 'category', change: 'dropped', since: '20260316121500', what: 'the source dropped it (it was text)',
  });
  assert.equal(
    message,
    'publication product-feed is paused: it publishes shop.products.category, and the source dropped it (it was text) from 20260316121500 on' +
      '; to resume: edit publications/product-feed.yaml so its columns no longer list category (or publish columns: all); the next pass then publishes from where it stopped',
  );
});
