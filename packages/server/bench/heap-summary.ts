/**
 * Sums a V8 heap snapshot's self sizes by node type and constructor name: where a process's heap goes.
 *
 *   node --max-old-space-size=4096 --import tsx packages/server/bench/heap-summary.ts FILE.heapsnapshot [top=25]
 */
import fs from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

const [file, topArg] = process.argv.slice(2);
const snap = JSON.parse(fs.readFileSync(file, 'utf8')) as Snapshot;
const fields = snap.snapshot.meta.node_fields;
const types = snap.snapshot.meta.node_types[0];
const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
const groups = new Map<string, { count: number; bytes: number }>();
let total = 0;
for (let i = 0; i < snap.nodes.length; i += fields.length) {
  const type = types[snap.nodes[i + typeAt]];
  // Strings and arrays by type only: their names are their contents.
  const name = type === 'object' || type === 'closure' || type === 'native' ? `${type} ${snap.strings[snap.nodes[i + nameAt]]}` : type;
  const size = snap.nodes[i + sizeAt];
  total += size;
  const g = groups.get(name) ?? { count: 0, bytes: 0 };
  g.count++;
  g.bytes += size;
  groups.set(name, g);
}
const rows = [...groups].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, Number(topArg ?? 25));
console.log(`total ${(total / 1048576).toFixed(1)} MB`);
for (const [name, g] of rows) console.log(`${(g.bytes / 1048576).toFixed(1).padStart(8)} MB ${String(g.count).padStart(10)}  ${name}`);
