import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestPostgres } from './postgres.ts';

test('the test PostgreSQL answers over a real connection in a fresh database', async () => {
  const server = await startTestPostgres();
  try {
    const db = await server.freshDatabase();
    const c = await server.client(db);
    const r = await c.query('select current_database() as db, 1 + 1 as two');
    await c.end();
    assert.equal(r.rows[0].db, db);
    assert.equal(r.rows[0].two, 2);
  } finally {
    await server.stop();
  }
});
