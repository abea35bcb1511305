/**
 * Reads a V8 heap snapshot (.heapsnapshot, as v8.writeHeapSnapshot writes it) into the "Summary" view
 * of Chrome's DevTools: objects counted and their own (shallow) sizes added up by constructor, and
 * everything else by kind ((string), (closure), (compiled code), (array), (system)…). Comparing two
 * summaries shows what a process kept between them; bench/soak.ts prints that comparison.
 */
import { readFileSync } from 'node:fs';

export interface HeapGroup {
  count: number;
  size: number;
}

export interface HeapSummary {
  file: string;
  nodes: number;
  totalSize: number;
  groups: Map<string, HeapGroup>;
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** The group a node is counted in: objects by their constructor, the rest by kind, as DevTools does. */
function groupOf(type: string, name: string): string | undefined {
  switch (type) {
    case 'object':
    case 'native':
      return name;
    case 'string':
    case 'concatenated string':
    case 'sliced string':
      return '(string)';
    case 'code':
      return '(compiled code)';
    case 'hidden':
      return '(system)';
    case 'synthetic':
      return undefined;
    default:
      return `(${type})`;
  }
}

export function summarizeHeapSnapshot(file: string): HeapSummary {
  const data = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = data.snapshot.meta.node_fields;
  const types = data.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const groups = new Map<string, HeapGroup>();
  let totalSize = 0;
  for (let i = 0; i < data.nodes.length; i += width) {
    const group = groupOf(types[data.nodes[i + typeAt]!] ?? '?', data.strings[data.nodes[i + nameAt]!] ?? '?');
    if (group === undefined) continue;
    const size = data.nodes[i + sizeAt]!;
    totalSize += size;
    const entry = groups.get(group);
    if (entry) {
      entry.count++;
      entry.size += size;
    } else {
      groups.set(group, { count: 1, size });
    }
  }
  return { file, nodes: data.nodes.length / width, totalSize, groups };
}

export interface HeapDelta {
  group: string;
  before: HeapGroup;
  after: HeapGroup;
}

/** The groups whose count or size changed most from `before` to `after`, largest growth in size first. */
export function compareHeapSummaries(before: HeapSummary, after: HeapSummary, top = 15): HeapDelta[] {
  const none: HeapGroup = { count: 0, size: 0 };
  const names = new Set([...before.groups.keys(), ...after.groups.keys()]);
  return [...names]
    .map((group) => ({ group, before: before.groups.get(group) ?? none, after: after.groups.get(group) ?? none }))
    .sort((a, b) => Math.abs(b.after.size - b.before.size) - Math.abs(a.after.size - a.before.size))
    .slice(0, top);
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
const signed = (n: number, show: (n: number) => string) => (n > 0 ? `+${show(n)}` : n < 0 ? `-${show(-n)}` : show(0));

export function printHeapComparison(label: string, before: HeapSummary, after: HeapSummary, top = 15): void {
  console.log(
    `\n${label}: ${kib(before.totalSize)} in ${before.nodes} objects -> ${kib(after.totalSize)} in ${after.nodes} objects (${signed(after.totalSize - before.totalSize, kib)}, ${signed(after.nodes - before.nodes, String)} objects)`,
  );
  const rows = compareHeapSummaries(before, after, top);
  const width = Math.min(48, Math.max(12, ...rows.map((r) => r.group.length)));
  const line = (cells: string[]) =>
    console.log(`  ${cells.map((c, i) => (i === 0 ? c.slice(0, width).padEnd(width) : c.padStart(12))).join(' ')}`);
  line(['constructor', 'count', 'Δ count', 'size', 'Δ size']);
  for (const { group, before: b, after: a } of rows) {
    line([group, String(a.count), signed(a.count - b.count, String), kib(a.size), signed(a.size - b.size, kib)]);
  }
}
