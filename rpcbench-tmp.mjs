import { RpcClient } from './dist/rpc/client.js';
import { createRpcApp } from './dist/rpc/server.js';
import { startHttpServer } from './dist/util/http-server.js';
import { LevelStore } from './dist/store/level-store.js';
import { cryptoRandom } from './dist/util/random.js';
import { silentLogger } from './dist/util/logger.js';
import { rmSync } from 'node:fs';
rmSync('/tmp/rpcb', { recursive: true, force: true });
const store = new LevelStore({ dir: '/tmp/rpcb', fsync: false, inlineThreshold: 65536, random: cryptoRandom, logger: silentLogger });
await store.open();
for (let i = 0; i < 100; i++) await store.commit({ bucket: 'b', key: 'k' + i, version: { hlc: 1, node: 'n' }, tombstone: false, size: 4096, etag: 'e', contentType: 'x', userMeta: {} }, { kind: 'inline', data: Buffer.alloc(4096) });
const app = createRpcApp({ replica: store, secret: 'secretsecretsecret', nodeId: 'n2', logger: silentLogger });
const srv = await startHttpServer(app.callback(), '127.0.0.1:0');
const client = new RpcClient({ nodeId: 'n1', secret: 'secretsecretsecret', timeoutMs: 5000, logger: silentLogger });
const rep = client.replica('n2', srv.address);
const secs = Number(process.env.SECS ?? 3);
for (const inline of [undefined, 65536]) {
let n = 0; const t0 = performance.now(); const c0 = process.cpuUsage(); const end = t0 + secs * 1000;
await Promise.all(Array.from({ length: 16 }, async () => { while (performance.now() < end) { await rep.head('b', 'k' + (n++ % 100), inline ? { inlineUpTo: inline } : {}); } }));
const c = process.cpuUsage(c0);
console.log(`inline=${inline} ${Math.round(n / ((performance.now() - t0) / 1000))}/s ${((c.user + c.system) / 1000 / n).toFixed(3)} ms/op`);
}
await client.close(); await srv.close(); await store.close();
