/**
 * The sign-in and consent pages of the OpenID provider: plain server-rendered HTML, no script needed,
 * in the layout every page shares (adapters/pages/layout.ts).
 */
import { escapeHtml, page } from '../pages/layout.js';

const SCOPE_WORDS: Record<string, string> = {
  openid: 'Know who you are',
  profile: 'See your name',
  email: 'See your email address',
  offline_access: 'Stay connected when you are not using it',
  'user:read': 'Read your account',
  'user:write': 'Change your account',
  'projects:read': 'Read your projects',
  'projects:write': 'Create and change your projects',
  'subscription:read': 'Read your subscription',
  'subscription:write': 'Change your subscription',
  'api-keys:read': 'See your API keys',
  'api-keys:write': 'Create and change your API keys',
  'api-keys:delete': 'Delete your API keys',
  'organizations:read': 'Read your organizations',
  'organizations:write': 'Change your organizations',
  'analytics:read': 'Read your analytics',
};

export function signInPage(options: {
  action: string;
  csrf: string;
  clientName: string;
  email?: string;
  error?: string;
}): string {
  return page(
    'Sign in',
    `<h1>Sign in</h1><p>to continue to <strong>${escapeHtml(options.clientName)}</strong></p>
${options.error ? `<p class="error" role="alert">${escapeHtml(options.error)}</p>` : ''}
<form method="post" action="${escapeHtml(options.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(options.csrf)}">
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="${escapeHtml(options.email ?? '')}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form>`,
  );
}

/**
 * The second step for a user with two-factor on: a code from the authenticator app, or one of the
 * backup codes in a form of its own. The challenge cookie set with this page says whose sign-in it is.
 */
export function twoFactorPage(options: { action: string; csrf: string; clientName: string; error?: string }): string {
  const csrf = `<input type="hidden" name="csrf" value="${escapeHtml(options.csrf)}">`;
  return page(
    'Two-factor authentication',
    `<h1>Two-factor authentication</h1><p>to continue to <strong>${escapeHtml(options.clientName)}</strong></p>
${options.error ? `<p class="error" role="alert">${escapeHtml(options.error)}</p>` : ''}
<form method="post" action="${escapeHtml(options.action)}">${csrf}
<label for="code">Code from your authenticator app</label><input id="code" name="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code" required autofocus>
<button type="submit">Verify</button></form>
<details><summary>Lost your authenticator? Use a backup code</summary>
<form method="post" action="${escapeHtml(options.action)}">${csrf}
<label for="backupCode">Backup code</label><input id="backupCode" name="backupCode" autocomplete="off" maxlength="11" required>
<button type="submit">Use backup code</button></form></details>`,
  );
}

export function consentPage(options: {
  action: string;
  abort: string;
  csrf: string;
  clientName: string;
  logoUri?: string;
  scopes: string[];
}): string {
  const items = options.scopes
    .map((s) => `<li>${escapeHtml(SCOPE_WORDS[s] ?? s)} <small>(${escapeHtml(s)})</small></li>`)
    .join('');
  return page(
    'Authorize access',
    `${options.logoUri ? `<img src="${escapeHtml(options.logoUri)}" alt="">` : ''}<h1>${escapeHtml(options.clientName)} wants to:</h1>
<ul>${items}</ul>
<form method="post" action="${escapeHtml(options.action)}"><input type="hidden" name="csrf" value="${escapeHtml(options.csrf)}"><button type="submit" name="decision" value="approve">Allow</button></form>
<form method="post" action="${escapeHtml(options.abort)}"><input type="hidden" name="csrf" value="${escapeHtml(options.csrf)}"><button type="submit">Deny</button></form>`,
  );
}

/** What an error page needs: its inline style, nothing else, and no framing. */
export const ERROR_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'";

export function errorPage(message: string): string {
  return page('Something went wrong', `<h1>Something went wrong</h1><p>${escapeHtml(message)}</p>`);
}
