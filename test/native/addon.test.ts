import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import duckdb from '@duckdb/node-bindings';
import { chooseBridge, loadNative } from '../../servers/bridge/native.ts';
import { connectShared, connectionHandle, openSharedDatabase } from '../../servers/bridge/shared-connection.ts';

describe('native addon', () => {
  it('is built by npm ci and loads against the libduckdb of @duckdb/node-bindings', () => {
    const { addon, reason } = loadNative();
    assert.ok(addon, reason);
    assert.equal(addon.libraryVersion(), 'v1.5.5');
    assert.equal(chooseBridge(undefined).bridge, 'native');
    assert.equal(chooseBridge('js').bridge, 'js');
  });

  it('uses a connection node-api also uses, and refuses anything that is not one', async () => {
    const { addon } = loadNative();
    assert.ok(addon);
    const { instance, database } = await openSharedDatabase(':memory:');
    const connection = await connectShared(database);
    const handle = connectionHandle(connection);
    assert.ok(handle);
    assert.equal(addon.checkConnection(handle), true);
    assert.equal(connectionHandle(await instance.connect()), undefined);
    assert.throws(() => addon.checkConnection(database as never), /expected a connection from @duckdb\/node-bindings/);
    assert.throws(() => addon.checkConnection({} as never), /expected a connection/);
    duckdb.disconnect_sync(handle);
    assert.throws(() => addon.checkConnection(handle), /the DuckDB connection is closed/);
    instance.closeSync();
  });
});
