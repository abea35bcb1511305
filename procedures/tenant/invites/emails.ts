/** The invitation message: plain text and HTML, the accept link and the equivalent API call. */
import type { Mail } from '../../../server/mail.js';

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface InviteMailInput {
  to: string;
  token: string;
  organizationName: string;
  inviterName: string | null;
  role: string;
  expiresAt: Date;
}

export function inviteMail(appUrl: string, input: InviteMailInput): Mail {
  const link = `${appUrl}/invites/accept?token=${encodeURIComponent(input.token)}`;
  const apiCall = `POST /api/user/invites/${encodeURIComponent(input.token)}/accept`;
  const who = input.inviterName ? `${input.inviterName} invited you` : 'You have been invited';
  const intro = `${who} to join ${input.organizationName} as ${input.role}.`;
  const outro =
    `The invitation works once, until ${input.expiresAt.toISOString()}, for a signed-in account with this verified email address. ` +
    'If you did not expect it, ignore this email.';
  return {
    to: input.to,
    // Nothing a user typed goes into the subject: it is what a phishing mail would borrow to look genuine.
    subject: 'You have been invited to join an organization',
    text: `${intro}\n\nAccept the invitation:\n${link}\n\nOr through the API: ${apiCall}\n\n${outro}\n`,
    html:
      `<!doctype html><html><body style="font-family:sans-serif">` +
      `<p>${escapeHtml(intro)}</p><p><a href="${escapeHtml(link)}">Accept the invitation</a></p>` +
      `<p>Or through the API: <code>${escapeHtml(apiCall)}</code></p>` +
      `<p style="color:#555">${escapeHtml(outro)}</p></body></html>`,
  };
}
