// Bench only, never part of the gateway: preloaded into a gateway process by `HOLD_WITHOUT_RECORD=1
// npx tsx bench/hold.ts` (node --import), it makes the SQLite store's recordStatement and
// completeStatement resolve at once without writing anything. Everything above the store still runs
// (parse, decision, lineage, secret redaction, masking, the relay). What pgbench then measures is the
// gateway's floor without its record: how much of a statement's cost is the record, and what the rest
// of the data path costs. It is not a result (a figure without the record does not count), and no
// configuration reaches it: only this file, given to node on the command line.
import { existsSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';

const store = new URL('../dist/store/sqlite-store.js', import.meta.url);
if (!existsSync(store)) throw new Error('bench/without-record.mjs needs the build: npm run build');
const { SqliteStore } = await import(store.href);
SqliteStore.prototype.recordStatement = () => Promise.resolve();
SqliteStore.prototype.completeStatement = () => Promise.resolve();
process.emitWarning(
  'the record is disabled in this process (bench/without-record.mjs): a floor, not a result',
);
