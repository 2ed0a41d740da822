// copyRebased (flight/rebase-offsets.ts): the offsets of a sliced column, rebased as they are
// copied into a message, on the WebAssembly path (and, under node --jitless, the JavaScript one).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyRebased } from '../../flight/rebase-offsets.ts';

test('adds the delta to every offset, at any alignment, and writes nothing around them', () => {
  for (const count of [0, 1, 2, 3, 4, 5, 7, 8, 9, 100, 70_001]) {
    const offsets = Int32Array.from({ length: count }, (_, i) => 1000 + i * 5);
    for (const at of [0, 1, 3, 5, 8]) {
      const out = new Uint8Array(at + count * 4 + 24).fill(0xaa);
      copyRebased(offsets, -1000, out, at);
      const view = new DataView(out.buffer);
      for (let i = 0; i < count; i++) assert.equal(view.getInt32(at + i * 4, true), i * 5, `count ${count}, at ${at}, offset ${i}`);
      assert.ok(
        out.subarray(0, at).every((b) => b === 0xaa),
        `before, count ${count}, at ${at}`,
      );
      assert.ok(
        out.subarray(at + count * 4).every((b) => b === 0xaa),
        `after, count ${count}, at ${at}`,
      );
    }
  }
});
