/**
 * The Node runtimes `npm run bench` runs its servers on (the load generator stays on the machine's):
 * BENCH_RUNTIMES, a comma-separated list of `machine` (the node running the benchmark) and `24` (Node 24
 * LTS, the runtime production uses); both by default. When the machine's Node is not 24, Node 24 comes
 * from .ci/node24, which fetches it once into the cache folder .ci/run uses too.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { root } from './lib.js';

export interface Runtime {
  /** As BENCH_RUNTIMES names it: `machine` or `24` (`machine` alone when the machine's Node is 24). */
  name: string;
  /** The node binary. */
  node: string;
  /** Its `node --version`. */
  version: string;
}

const major = (version: string) => Number(/^v(\d+)\./.exec(version)?.[1]);

function node24(): string {
  if (major(process.version) === 24) return process.execPath;
  const bin = execFileSync(path.join(root, '.ci/node24'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return path.join(bin.trim(), 'node');
}

export function benchRuntimes(setting = process.env.BENCH_RUNTIMES || 'machine,24'): Runtime[] {
  const runtimes: Runtime[] = [];
  for (const name of setting.split(',').map((word) => word.trim())) {
    if (name !== 'machine' && name !== '24')
      throw new Error(`BENCH_RUNTIMES lists machine and 24, comma-separated; got "${setting}"`);
    const node = name === 'machine' ? process.execPath : node24();
    // Where the machine's Node is 24, `machine,24` runs once.
    if (runtimes.some((runtime) => runtime.node === node)) continue;
    runtimes.push({ name, node, version: execFileSync(node, ['--version'], { encoding: 'utf8' }).trim() });
  }
  return runtimes;
}
