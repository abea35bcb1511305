/** Fixtures for public forms: an owner with an organization, a project, a form, over REST. */
import type { TestApp } from './app.js';
import { asBrowser, postJson, signUp, type SignedUp } from './identity.js';
import { defaultOrganizationId } from './tenancy.js';

export type Owner = SignedUp & { organizationId: string };

/** The fields of a typical sign-up form: one of each type. */
export const SIGNUP_FIELDS = [
  { name: 'email', label: 'Email', type: 'email', required: true },
  { name: 'fullName', label: 'Name', type: 'text', maxLength: 50 },
  { name: 'age', label: 'Age', type: 'number' },
  { name: 'plan', label: 'Plan', type: 'select', options: ['free', 'pro'] },
  { name: 'newsletter', label: 'Newsletter', type: 'checkbox' },
  { name: 'message', label: 'Message', type: 'textarea', maxLength: 200 },
];

export async function formOwner(t: TestApp): Promise<Owner> {
  const user = await signUp(t);
  return { ...user, organizationId: await defaultOrganizationId(t, user.userId) };
}

export const formsPath = (owner: Owner, projectId: string) =>
  `/api/user/organizations/${owner.organizationId}/projects/${projectId}/forms`;

export const submitPath = (formId: string) => `/api/public/forms/${formId}/submissions`;

/** A project of the owner's organization (active unless said otherwise); its id. */
export async function createProject(
  t: TestApp,
  owner: Owner,
  status: 'draft' | 'active' | 'paused' = 'active',
): Promise<string> {
  const res = await postJson(
    t,
    `/api/user/organizations/${owner.organizationId}/projects`,
    { name: `Site ${Math.random().toString(36).slice(2, 8)}`, status },
    owner.cookie,
  );
  if (res.status !== 201) throw new Error(`project: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data.id;
}

/** A form of the project (published, sign-up fields unless `body` says otherwise); the created form. */
export async function createForm(
  t: TestApp,
  owner: Owner,
  projectId: string,
  body: Record<string, unknown> = {},
): Promise<any> {
  const res = await postJson(
    t,
    formsPath(owner, projectId),
    { name: 'Sign-up', published: true, fields: SIGNUP_FIELDS, ...body },
    owner.cookie,
  );
  if (res.status !== 201) throw new Error(`form: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data;
}

/** Changes a project's status over REST. */
export async function setProjectStatus(t: TestApp, owner: Owner, projectId: string, status: string): Promise<void> {
  const res = await t.request(`/api/user/organizations/${owner.organizationId}/projects/${projectId}`, {
    method: 'PUT',
    headers: asBrowser(owner.cookie),
    body: JSON.stringify({ status }),
  });
  if (res.status !== 200) throw new Error(`project status: ${res.status} ${JSON.stringify(res.body)}`);
}
