import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isReefError } from '../../../shared/errors.ts';
import { parseTableRef, qualifiedName, quoteIdent, quoteLiteral } from './sql.ts';

function rejects(fn: () => unknown, code: string, mention: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isReefError(e), 'a ReefError');
    assert.equal(e.category, 'config');
    assert.equal(e.code, code);
    assert.ok(e.message.includes(mention), `message names ${mention}: ${e.message}`);
    return true;
  });
}

test('quoteIdent doubles double quotes and always quotes', () => {
  assert.equal(quoteIdent('orders'), '"orders"');
  assert.equal(quoteIdent('Order Lines'), '"Order Lines"');
  assert.equal(quoteIdent('orders"; drop table x; --'), '"orders""; drop table x; --"');
  assert.equal(qualifiedName('public', 'a"b'), '"public"."a""b"');
});

test('quoteIdent rejects NUL and the empty name', () => {
  rejects(() => quoteIdent('a\0b'), 'config.identifier', 'NUL');
  rejects(() => quoteIdent(''), 'config.identifier', 'empty');
});

test('quoteLiteral is safe whatever standard_conforming_strings says', () => {
  assert.equal(quoteLiteral("it's"), "'it''s'");
  assert.equal(quoteLiteral('a\\b'), "E'a\\\\b'");
  assert.equal(quoteLiteral("\\'; drop table x; --"), "E'\\\\''; drop table x; --'");
  rejects(() => quoteLiteral('a\0'), 'config.literal', 'NUL');
});

test('parseTableRef: table, schema.table, quoted parts, case folding like SQL', () => {
  assert.deepEqual(parseTableRef('orders', 'here'), { schema: 'public', table: 'orders' });
  assert.deepEqual(parseTableRef('Shop.Orders', 'here'), { schema: 'shop', table: 'orders' });
  assert.deepEqual(parseTableRef('"Shop"."Order Lines"', 'here'), { schema: 'Shop', table: 'Order Lines' });
  assert.deepEqual(parseTableRef('shop."weird""; drop table x; --"', 'here'), { schema: 'shop', table: 'weird"; drop table x; --' });
  assert.deepEqual(parseTableRef('_t$1', 'here'), { schema: 'public', table: '_t$1' });
  assert.deepEqual(parseTableRef('café.naïve', 'here'), { schema: 'café', table: 'naïve' });
});

test('parseTableRef rejects hostile or malformed text, naming the value and where it came from', () => {
  const where = 'sources/shop.yaml loadunits[0].table';
  for (const bad of ['orders"; drop table x; --', 'orders; drop table x', 'a.b.c', '', '.orders', 'orders.', '"unterminated', '""', 'a b', '1orders', 'x.""']) {
    rejects(() => parseTableRef(bad, where), 'config.identifier', where);
  }
  rejects(() => parseTableRef('orders"; drop table x; --', where), 'config.identifier', JSON.stringify('orders"; drop table x; --'));
  rejects(() => parseTableRef('x'.repeat(64), where), 'config.identifier', '63 bytes');
});
