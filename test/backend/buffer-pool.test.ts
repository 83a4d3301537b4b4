import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BufferPool } from '../../src/backend/buffer-pool.js';

describe('BufferPool', () => {
  it('hands a given-back array out again for the same length only', () => {
    const pool = new BufferPool();
    const a = pool.take(1000);
    pool.give(a);
    assert.equal(pool.take(999).length, 999);
    assert.equal(pool.take(1000), a);
    assert.notEqual(pool.take(1000), a);
  });

  it('recognises its arrays and views into them, and recycles only whole arrays it made', () => {
    const pool = new BufferPool();
    const a = pool.take(16);
    const view = a.subarray(4, 8);
    const foreign = new Float32Array(16);
    assert.ok(pool.owns(a) && pool.owns(view) && !pool.owns(foreign));
    assert.ok(pool.ownsWhole(a) && !pool.ownsWhole(view));
    pool.give(view);
    pool.give(foreign);
    assert.equal(pool.stats().pooledBytes, 0);
    pool.give(a);
    assert.equal(pool.stats().pooledBytes, 64);
  });

  it('stops keeping arrays beyond its byte budget', () => {
    const pool = new BufferPool(100);
    const a = pool.take(16), b = pool.take(16);
    pool.give(a);
    pool.give(b);
    assert.equal(pool.stats().pooledBytes, 64);
    assert.equal(pool.take(16), a);
  });
});
