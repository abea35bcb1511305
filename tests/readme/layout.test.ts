/**
 * The README's layout rule, held against the route table: each REST route is one file under
 * procedures/, in the folder its path gives (README, "Layout"):
 * - `/public/…` in public/, or in public/<group>/ when its procedure is `public.<group>.<name>`;
 * - `/user/<group>/…` in user/<group>/;
 * - `/webhook/<provider>` in webhook/;
 * - `/auth/<group>/…` in auth/<group>/ when the group has several routes, else in auth/ itself;
 * - `/user/organizations/{organizationId}/<area>/…` in tenant/<area>/, except the organization itself
 *   and /my-membership (tenant/organization/), /leave and /transfer-ownership (tenant/members/);
 *   a project's resources `…/projects/{projectId}/<resource>/…` in tenant/<resource>/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { appRouter } from '../../procedures/index.js';

const PROCEDURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../procedures');

interface Operation {
  method: string;
  path: string;
  procedurePath: string;
}

const operations: Operation[] = Object.entries<any>(appRouter._def.procedures)
  .filter(([, procedure]) => procedure._def.meta?.openapi)
  .map(([procedurePath, procedure]) => {
    const { method, path } = procedure._def.meta.openapi;
    return { method, path, procedurePath };
  });

/** Each source file under procedures/ (relative to it), with the OpenAPI paths it declares. */
const declared = readdirSync(PROCEDURES, { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.ts'))
  .map((file) => ({
    file,
    paths: [...readFileSync(path.join(PROCEDURES, file), 'utf8').matchAll(/\bpath:\s*'([^']+)'/g)].map((m) => m[1]),
  }));

const segments = (routePath: string) => routePath.split('/').filter(Boolean);
const TENANT = /^\/user\/organizations\/\{organizationId\}(?:\/([^/]+))?/;
const PROJECT_RESOURCE = /^\/user\/organizations\/\{organizationId\}\/projects\/\{projectId\}\/([^/]+)/;
const IN_MEMBERS = new Set(['leave', 'transfer-ownership']);

/** The folder under procedures/ where the README says a route with this path lives. */
function folderOf({ path: routePath, procedurePath }: Operation): string {
  const resource = PROJECT_RESOURCE.exec(routePath);
  if (resource) return `tenant/${resource[1]}`;
  const tenant = TENANT.exec(routePath);
  if (tenant) {
    const area = tenant[1];
    if (area === undefined || area === 'my-membership') return 'tenant/organization';
    return IN_MEMBERS.has(area) ? 'tenant/members' : `tenant/${area}`;
  }
  const [tier, group, ...rest] = segments(routePath);
  if (tier === 'public') {
    const names = procedurePath.split('.');
    return names.length > 2 ? `public/${names[1]}` : 'public';
  }
  if (tier === 'user') return `user/${group}`;
  if (tier === 'webhook') return 'webhook';
  const inGroup = operations.filter((op) => {
    const [t, g, ...r] = segments(op.path);
    return t === 'auth' && g === group && r.length > 0;
  });
  return rest.length > 0 && inGroup.length > 1 ? `auth/${group}` : 'auth';
}

describe('the layout rule of the README', () => {
  it('covers every REST route', () => {
    expect(operations.length).toBeGreaterThan(50);
  });

  it.each(operations.map((op) => [`${op.method} ${op.path}`, op] as const))(
    '%s is one file in the folder its path gives',
    (_label, op) => {
      const files = declared.filter((d) => d.paths.includes(op.path)).map((d) => d.file);
      // One file per route: as many files declare the path as there are routes (methods) on it.
      expect(files).toHaveLength(operations.filter((other) => other.path === op.path).length);
      for (const file of files) expect(path.dirname(file)).toBe(folderOf(op));
    },
  );
});
