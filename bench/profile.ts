/**
 * Where a server's CPU time goes: a V8 CPU profile of the running process (node:inspector, started and
 * stopped by the benchmark's probes, bench/child.ts), its samples' own time summed by what ran them.
 * bench/run.ts prints this for every route that misses a target, so that a miss comes with its reason.
 */
import { Session } from 'node:inspector/promises';

/** The parts of the stack a sample is counted against, in the order they are printed. */
const PACKAGE_GROUPS: Array<[group: string, packages: RegExp]> = [
  ['PostgreSQL client (pg, knex, MikroORM)', /^(pg|pg-[\w-]+|postgres-[\w-]+|knex|tarn|@mikro-orm\/[\w-]+)$/],
  [
    'Redis client and limiter (ioredis, rate-limiter-flexible)',
    /^(ioredis|redis-[\w-]+|standard-as-callback|denque|cluster-key-slot|rate-limiter-flexible)$/,
  ],
  ['tRPC procedure chain (@trpc/server)', /^@trpc\/server$/],
  ['schemas (zod)', /^zod$/],
  ['logging (pino)', /^(pino|pino-[\w-]+|sonic-boom)$/],
];

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** What ran a sample: a group of packages, Node itself, this service, the garbage collector, system calls. */
function groupOf({ functionName, url }: ProfileNode['callFrame']): string | undefined {
  if (functionName === '(idle)') return undefined;
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(program)') return 'V8, unattributed';
  // Native functions without a script: in a server, mostly the system calls that write and read sockets.
  if (url === '') return 'native code (socket writes and reads, crypto)';
  if (url.startsWith('node:')) return 'Node (http, net, streams, timers)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return PACKAGE_GROUPS.find(([, packages]) => packages.test(pkg))?.[0] ?? 'other packages';
  if (/\/(server|adapters|procedures|entities)\//.test(url)) return 'this service (server/, adapters/, procedures/)';
  return 'other';
}

export interface ProfileShare {
  group: string;
  /** Of the time the process was busy (idle excluded). */
  share: number;
}

export function summarize(profile: CpuProfile): ProfileShare[] {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const byGroup = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const node = nodes.get(id);
    const group = node && groupOf(node.callFrame);
    if (!group) return;
    const micros = profile.timeDeltas[i] ?? 0;
    busy += micros;
    byGroup.set(group, (byGroup.get(group) ?? 0) + micros);
  });
  return [...byGroup]
    .map(([group, micros]) => ({ group, share: busy > 0 ? micros / busy : 0 }))
    .sort((a, b) => b.share - a.share);
}

/** Starts profiling this process; `stop` ends it and returns the summary. */
export async function startProfiling(): Promise<{ stop(): Promise<ProfileShare[]> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
      session.disconnect();
      return summarize(profile);
    },
  };
}
