/** Scopes a token can carry and permissions a role grants (API.md section 7). */
export const USER_SCOPES = [
  'user:read',
  'user:write',
  'projects:read',
  'projects:write',
  'subscription:read',
  'subscription:write',
  'api-keys:read',
  'api-keys:write',
  'api-keys:delete',
  'organizations:read',
  'organizations:write',
  'analytics:read',
] as const;
export type Scope = (typeof USER_SCOPES)[number];

export const PERMISSIONS = [
  'organization:read',
  'organization:manage-members',
  'organization:manage-billing',
  'organization:manage-security',
  'organization:manage-settings',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = ['owner', 'admin', 'member'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  owner: PERMISSIONS,
  admin: [
    'organization:read',
    'organization:manage-members',
    'organization:manage-security',
    'organization:manage-settings',
  ],
  member: ['organization:read'],
};
