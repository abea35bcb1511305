/**
 * The REST route table, read once from the router: which procedure answers which method and path,
 * and how its input is read. The dispatcher serves exactly these routes and the OpenAPI document
 * lists exactly these; the table also tells 404 from 405 and says where a bad field came from
 * (params, query or body).
 */
import type { AnyRouter } from '@trpc/server';
import type { Meta } from '../../server/trpc.js';
import { inputReader, type InputReader } from './input.js';

export interface RestRoute {
  procedurePath: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The documented path under /api, e.g. /user/organizations/{organizationId}/projects. */
  path: string;
  pattern: RegExp;
  pathParams: string[];
  meta: Meta;
  /** The procedure's input from a request's path parameters, query and body (see input.ts). */
  readInput: InputReader;
}

interface ProcedureLike {
  _def: { meta?: Meta; type: 'query' | 'mutation' | 'subscription'; inputs: readonly unknown[] };
}

export function procedureEntries(router: AnyRouter): [string, ProcedureLike][] {
  return Object.entries(router._def.procedures as Record<string, ProcedureLike>);
}

export function restRoutes(router: AnyRouter): RestRoute[] {
  const routes: RestRoute[] = [];
  for (const [procedurePath, procedure] of procedureEntries(router)) {
    const meta = procedure._def.meta;
    const openapi = meta?.openapi;
    if (!meta || !openapi || openapi.enabled === false || procedure._def.type === 'subscription') continue;
    const pathParams: string[] = [];
    const source = openapi.path
      .replace(/\/+$/, '')
      .split('/')
      .map((segment) => {
        const param = /^\{(\w+)\}$/.exec(segment);
        if (!param?.[1]) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        pathParams.push(param[1]);
        // Empty segments match too, so that a tenant route without its id gets TENANT_CONTEXT_MISSING.
        return `(?<${param[1]}>[^/]*)`;
      })
      .join('/');
    routes.push({
      procedurePath,
      method: openapi.method,
      path: openapi.path,
      pattern: new RegExp(`^${source}/?$`),
      pathParams,
      meta,
      readInput: inputReader(procedure._def.inputs),
    });
  }
  return routes;
}

/** Path parameters that carry a bearer secret (an invitation's token). */
const SECRET_PARAMS = new Set(['token']);

/**
 * How logs may show a request path: a path under /api whose route has a secret in it becomes the
 * documented pattern (`/api/user/invites/{token}/accept`); any other path is shown as it is.
 */
export function pathForLog(routes: RestRoute[]): (path: string) => string {
  const secretRoutes = routes.filter((route) => route.pathParams.some((name) => SECRET_PARAMS.has(name)));
  return (path) => {
    if (!path.startsWith('/api/')) return path;
    const route = secretRoutes.find((r) => r.pattern.test(path.slice(4)));
    return route ? `/api${route.path}` : path;
  };
}

export type RouteMatch = { route: RestRoute; params: Record<string, string> } | { allowed: string[] } | null;

/** The route for method and path; else the methods the path allows (405); else null (404). */
export function matchRoute(routes: RestRoute[], method: string, path: string): RouteMatch {
  const allowed: string[] = [];
  for (const route of routes) {
    const found = route.pattern.exec(path);
    if (!found) continue;
    if (route.method === method) return { route, params: { ...found.groups } };
    allowed.push(route.method);
  }
  return allowed.length > 0 ? { allowed } : null;
}
