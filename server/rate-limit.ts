/**
 * What procedures and adapters see of rate limiting: named budgets (server/config.ts) consumed
 * against a key. The stores live in adapters/ratelimit; this file only defines the contract and
 * how client addresses become keys.
 */
import net from 'node:net';
import type { BudgetName } from './config.js';

export interface RateLimitResult {
  budget: BudgetName;
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window resets (or the block ends). */
  resetSeconds: number;
}

export interface RateLimiter {
  readonly backend: 'redis' | 'memory';
  /**
   * Spends `points` atomically (one Redis script): of concurrent callers, only as many as the budget
   * allows are told `allowed`. A budget with a blockDuration blocks the key once it is overspent.
   */
  consume(budget: BudgetName, key: string, points?: number): Promise<RateLimitResult>;
  /** Gives back points spent for work that turned out not to count (a sign-in that succeeded). */
  refund(budget: BudgetName, key: string, points?: number): Promise<void>;
  /** Forget a key (for example, failed sign-ins after a success). */
  reset(budget: BudgetName, key: string): Promise<void>;
}

/**
 * The IP in an address as proxies write it: `192.0.2.1:1234`, `[2001:db8::1]:443` and `[2001:db8::1]`
 * become the bare IP, so that a client cannot get a fresh budget per source port; undefined when
 * what is left is not an IP at all.
 */
export function parseIp(address: string | undefined): string | undefined {
  if (!address) return undefined;
  let ip = address.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(ip);
  if (bracketed?.[1]) ip = bracketed[1];
  else if (/^[\d.]+:\d+$/.test(ip)) ip = ip.slice(0, ip.lastIndexOf(':'));
  return net.isIP(ip) ? ip : undefined;
}

/**
 * The key for a client address: IPv4 as is (also when IPv4-mapped), IPv6 by its /64 prefix, since
 * one host commonly owns a whole /64; ports and brackets are dropped first.
 */
export function clientKey(address: string): string {
  const ip = parseIp(address) ?? address;
  if (ip.startsWith('::ffff:') && net.isIPv4(ip.slice(7))) return ip.slice(7);
  if (!net.isIPv6(ip)) return ip;
  return `${expandIPv6(ip).slice(0, 4).join(':')}::/64`;
}

function expandIPv6(ip: string): string[] {
  const address = ip.split('%')[0] ?? ip;
  const [head = '', tail] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  // An embedded IPv4 tail (::1.2.3.4) takes two groups.
  const last = right.length > 0 ? right[right.length - 1] : left[left.length - 1];
  const v4Groups = last && net.isIPv4(last) ? 1 : 0;
  const missing = tail === undefined ? 0 : 8 - left.length - right.length - v4Groups;
  const groups = [...left, ...Array<string>(Math.max(missing, 0)).fill('0'), ...right];
  return groups.map((g) => (net.isIPv4(g) ? g : g.toLowerCase().replace(/^0+(?=.)/, '')));
}

/** The most restrictive of several results: the one closest to refusing. */
export function mostRestrictive(results: RateLimitResult[]): RateLimitResult | undefined {
  let worst: RateLimitResult | undefined;
  for (const result of results) {
    if (
      !worst ||
      Number(result.allowed) < Number(worst.allowed) ||
      (result.allowed === worst.allowed && result.remaining < worst.remaining) ||
      (result.allowed === worst.allowed &&
        result.remaining === worst.remaining &&
        result.resetSeconds > worst.resetSeconds)
    ) {
      worst = result;
    }
  }
  return worst;
}
