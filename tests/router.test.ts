/**
 * Walks the whole router: a procedure that lacks a tier, an output schema, a success message or
 * the rate-limit guard cannot be merged.
 */
import { describe, expect, it } from 'vitest';
import { procedureEntries } from '../adapters/rest/routes.js';
import { appRouter } from '../procedures/index.js';
import { rateLimitGuard, type Meta } from '../server/trpc.js';

const TIER_PATHS = {
  public: /^\/public\//,
  auth: /^\/auth\//,
  user: /^\/user\/(?!organizations\/\{organizationId\})/,
  tenant: /^\/user\/organizations\/\{organizationId\}(\/|$)/,
  webhook: /^\/webhook\//,
} as const;

interface ProcedureDef {
  meta?: Meta;
  middlewares: unknown[];
  output?: unknown;
  inputs: unknown[];
  type: string;
}

const procedures = procedureEntries(appRouter).map(([path, p]) => [path, p._def as unknown as ProcedureDef] as const);

describe('every procedure', () => {
  it('exists', () => {
    expect(procedures.length).toBeGreaterThan(0);
  });

  it.each(procedures)('%s has a tier, an output schema, a message and the rate-limit guard', (path, def) => {
    expect(def.meta?.tier, `${path}: tier`).toBeDefined();
    expect(def.output, `${path}: output schema`).toBeDefined();
    expect(def.meta?.message, `${path}: success message`).toMatch(/\S/);
    expect(def.middlewares[0], `${path}: the rate-limit guard runs first`).toBe(rateLimitGuard._middlewares[0]);
    expect(def.inputs.length, `${path}: an input schema (z.void() when none)`).toBeGreaterThan(0);
  });

  it.each(procedures)('%s lives under its tier’s REST path', (path, def) => {
    const openapi = def.meta?.openapi;
    expect(openapi, `${path}: REST meta`).toBeDefined();
    expect(openapi!.path).toMatch(TIER_PATHS[def.meta!.tier!]);
    expect(path.split('.')[0]).toBe(def.meta!.tier === 'tenant' ? 'tenant' : def.meta!.tier);
  });

  it('has one procedure per method and path', () => {
    const seen = new Set<string>();
    for (const [, def] of procedures) {
      const key = `${def.meta?.openapi?.method} ${def.meta?.openapi?.path}`;
      expect(seen.has(key), key).toBe(false);
      seen.add(key);
    }
  });
});
