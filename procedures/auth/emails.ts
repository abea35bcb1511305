/** The messages the identity flows send: plain text and HTML, one link each. */
import type { Mail } from '../../server/mail.js';

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function message(to: string, subject: string, intro: string, action: string, link: string, outro: string): Mail {
  return {
    to,
    subject,
    text: `${intro}\n\n${action}:\n${link}\n\n${outro}\n`,
    html:
      `<!doctype html><html><body style="font-family:sans-serif">` +
      `<p>${escapeHtml(intro)}</p><p><a href="${escapeHtml(link)}">${escapeHtml(action)}</a></p>` +
      `<p style="color:#555">${escapeHtml(outro)}</p></body></html>`,
  };
}

const link = (appUrl: string, page: string, token: string) => `${appUrl}/${page}?token=${encodeURIComponent(token)}`;

export function verifyEmailMail(appUrl: string, to: string, token: string): Mail {
  return message(
    to,
    'Verify your email address',
    'Please confirm that this is your email address.',
    'Verify your email',
    link(appUrl, 'verify-email', token),
    'The link works once, for 24 hours. If you did not sign up, ignore this email.',
  );
}

export function changeEmailMail(appUrl: string, to: string, token: string): Mail {
  return message(
    to,
    'Confirm your new email address',
    'You asked to use this address for your account.',
    'Confirm the new address',
    link(appUrl, 'verify-email', token),
    'The link works once, for 24 hours. If you did not ask for this, ignore this email.',
  );
}

export function resetPasswordMail(appUrl: string, to: string, token: string): Mail {
  return message(
    to,
    'Reset your password',
    'Someone asked to reset the password of your account.',
    'Choose a new password',
    link(appUrl, 'reset-password', token),
    'The link works once, for 1 hour. If it was not you, ignore this email; your password stays as it is.',
  );
}

/**
 * A sign-in link. It points at the API itself (BASE_URL), which consumes the token, sets the session
 * cookie and sends the browser on to `callbackURL` (already checked to be on a trusted origin) or APP_URL.
 */
export function magicLinkMail(
  baseUrl: string,
  to: string,
  token: string,
  options: { callbackURL?: string; newAccount: boolean },
): Mail {
  const url = new URL(`${baseUrl.replace(/\/$/, '')}/api/auth/magic-link/verify`);
  url.searchParams.set('token', token);
  if (options.callbackURL) url.searchParams.set('callbackURL', options.callbackURL);
  return message(
    to,
    'Your sign-in link',
    options.newAccount
      ? 'Use this link to create your account with this address and sign in.'
      : 'Use this link to sign in to your account.',
    'Sign in',
    url.href,
    'The link works once, for 15 minutes. If you did not ask for it, ignore this email; nobody can sign in without it.',
  );
}
