/** Fixtures for tracking: a signed-up owner's project with its publishable key, and calls to /public/track. */
import type { TestApp } from './app.js';
import { asBrowser, postJson, signUp, type SignedUp } from './identity.js';
import { defaultOrganizationId } from './tenancy.js';

export interface TrackingProject {
  owner: SignedUp;
  organizationId: string;
  projectId: string;
  publishableKey: string;
  /** REST path of the project, for its events and stats. */
  path: string;
}

export async function createTrackingProject(
  t: TestApp,
  options: { status?: 'draft' | 'active' | 'paused'; allowedOrigins?: string[]; owner?: SignedUp } = {},
): Promise<TrackingProject> {
  const owner = options.owner ?? (await signUp(t));
  const organizationId = await defaultOrganizationId(t, owner.userId);
  const res = await postJson(
    t,
    `/api/user/organizations/${organizationId}/projects`,
    {
      name: `Site ${Math.random().toString(36).slice(2, 8)}`,
      status: options.status ?? 'active',
      allowedOrigins: options.allowedOrigins,
    },
    owner.cookie,
  );
  if (res.status !== 201) throw new Error(`project creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  const projectId: string = res.body.data.id;
  return {
    owner,
    organizationId,
    projectId,
    publishableKey: res.body.data.publishableKey,
    path: `/api/user/organizations/${organizationId}/projects/${projectId}`,
  };
}

/** POST /api/public/track with a key (or none) and a body sent as is when it is a string. */
export function track(t: TestApp, key: string | undefined, body: unknown, headers: Record<string, string> = {}) {
  return t.request('/api/public/track', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key === undefined ? {} : { 'x-publishable-key': key }),
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** GET with the owner's session. */
export function getAs(t: TestApp, owner: SignedUp, path: string) {
  return t.request(path, { headers: asBrowser(owner.cookie) });
}

/** How many events a project has stored. */
export async function storedEvents(t: TestApp, projectId: string): Promise<number> {
  const [row] = await t.services.orm.em
    .fork()
    .getConnection()
    .execute<{ n: number }[]>('select count(*)::int as n from events where project_id = ?', [projectId]);
  return row!.n;
}
