/**
 * The pages the links in mail open when no frontend is configured (APP_URL unset or equal to
 * BASE_URL): /verify-email, /reset-password and /invites/accept, each with `?token=…`.
 *
 * - A GET only shows a form and acts on nothing: mail scanners follow links. The action happens when
 *   the person posts the form.
 * - A POST calls the API's own procedure through the router's caller, so the rules, budgets and
 *   messages are those of POST /api/auth/verify-email, /api/auth/reset-password,
 *   /api/auth/sign-in/email and /api/user/invites/{token}/accept. An error is the API's message on a
 *   page with the API's status; nothing here decides what the API would not.
 * - Accepting an invitation needs this service's session cookie: without one the page says so and
 *   signs in on the spot (the API's sign-in), then comes back to the invitation.
 * - Every request spends the global budget on arrival, as the API's do.
 * - Every form carries a CSRF token bound to a cookie of this browser (form-csrf.ts, as the OAuth
 *   pages); a form without it is refused before anything runs.
 * - No script, no framing, nothing cached (layout.ts).
 * - With a frontend configured (APP_URL elsewhere), nothing is served here: the links lead there.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { appRouter } from '../../procedures/index.js';
import { spendGlobalOnArrival } from '../../server/arrival.js';
import { createContext, type Services } from '../../server/context.js';
import { type ApiError, RATE_LIMIT_MESSAGE, toApiError } from '../../server/errors.js';
import { createCallerFactory } from '../../server/trpc.js';
import { formBinding, formCsrf, sentBinding } from './form-csrf.js';
import { escapeHtml, page, sendPage } from './layout.js';
import type { RateLimitResult } from '../../server/rate-limit.js';

declare global {
  namespace Express {
    interface Locals {
      /** The global budget as `arrive` spent it, for the context of the procedure the page calls. */
      globalBudget?: RateLimitResult;
    }
  }
}

const createCaller = createCallerFactory(appRouter);

/** A page with a heading and one message; an error message is marked as an alert. */
function notice(title: string, message: string, error = false): string {
  return page(
    title,
    `<h1>${escapeHtml(title)}</h1><p${error ? ' class="error" role="alert"' : ''}>${escapeHtml(message)}</p>`,
  );
}

const errorLine = (error?: string) => (error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : '');
const hidden = (fields: Record<string, string>) =>
  Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`)
    .join('');

function verifyPage(csrf: string, token: string): string {
  return page(
    'Verify your email address',
    `<h1>Verify your email address</h1><p>Confirm that this address is yours.</p>
<form method="post" action="/verify-email">${hidden({ csrf, token })}<button type="submit">Verify my email address</button></form>`,
  );
}

function resetPage(csrf: string, token: string, error?: string): string {
  return page(
    'Choose a new password',
    `<h1>Choose a new password</h1>${errorLine(error)}
<p>At least 8 characters, not a common one. Every session of the account is signed out.</p>
<form method="post" action="/reset-password">${hidden({ csrf, token })}
<label for="password">New password</label><input id="password" name="password" type="password" autocomplete="new-password" minlength="8" maxlength="256" required>
<button type="submit">Set the new password</button></form>`,
  );
}

function signInForm(csrf: string, token: string, email = ''): string {
  return `<form method="post" action="/invites/accept/sign-in">${hidden({ csrf, token })}
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="${escapeHtml(email)}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form>`;
}

/** The invitation for a browser signed in as `signedInAs`: the accept button, and a way to use another account. */
function acceptPage(csrf: string, token: string, signedInAs: string, error?: string): string {
  return page(
    'Accept the invitation',
    `<h1>Accept the invitation</h1>${errorLine(error)}<p>Signed in as <strong>${escapeHtml(signedInAs)}</strong>.</p>
<form method="post" action="/invites/accept">${hidden({ csrf, token })}<button type="submit">Accept the invitation</button></form>
<h2>Invited at another address?</h2><p>Sign in with the account of the invited address.</p>${signInForm(csrf, token)}`,
  );
}

/** The invitation for a browser that is not signed in: what to do, and the sign-in form. */
function signInPage(csrf: string, token: string, email?: string, error?: string): string {
  return page(
    'Accept the invitation',
    `<h1>Accept the invitation</h1>${errorLine(error)}
<p>Sign in with the account of the invited email address to accept it. No account yet? Sign up with that
address (<code>POST /api/auth/sign-up/email</code>), verify it from the email we send, then open the invitation link again.</p>
${signInForm(csrf, token, email)}`,
  );
}

export function mailLinkPages(services: Services, csrfKey: string): express.Router {
  const routes = express.Router();
  const { config } = services;
  // A frontend opens the links (APP_URL elsewhere): nothing to serve here.
  if (config.appUrl !== config.baseUrl.replace(/\/$/, '')) return routes;
  const csrf = formCsrf(csrfKey);
  const readForm = express.urlencoded({ extended: false, limit: '16kb' });

  const caller = (req: Request, res: Response) =>
    createCaller(createContext(services, 'rest', req, res, res.locals.globalBudget));
  const field = (req: Request, name: string) => {
    const value = (req.body as Record<string, unknown> | undefined)?.[name];
    return typeof value === 'string' ? value : '';
  };

  /** The API's answer to a failed call; an unexpected one is logged, as the API adapters do. */
  function failure(req: Request, error: unknown): ApiError {
    const apiError = toApiError(error);
    if (apiError.apiCode === 'INTERNAL_ERROR')
      (req.log ?? services.log).error({ err: apiError.cause ?? error, reqId: req.id }, 'unhandled error');
    return apiError;
  }

  /** Spends the global budget as the request arrives, before its body is read. */
  async function arrive(req: Request, res: Response, next: NextFunction): Promise<void> {
    try {
      const budget = await spendGlobalOnArrival(services, req, res);
      res.locals.globalBudget = budget;
      if (!budget.allowed) return sendPage(res, 429, notice('Too many requests', RATE_LIMIT_MESSAGE, true));
      next();
    } catch (error) {
      const apiError = failure(req, error);
      sendPage(res, apiError.status, notice('Something went wrong', apiError.message, true));
    }
  }

  /** Reads the form, then refuses it unless it carries the CSRF token of this browser's cookie. */
  function form(req: Request, res: Response, next: NextFunction): void {
    readForm(req, res, (error?: unknown) => {
      if (error)
        return sendPage(res, 400, notice('The form could not be read', 'Open the link from the email again.', true));
      const binding = sentBinding(config, req);
      if (!binding || !csrf.sentWith(req.body, binding))
        return sendPage(res, 403, notice('The form has expired', 'Open the link from the email again.', true));
      next();
    });
  }

  /** The link's token; a link without one gets a page saying so. */
  function linkToken(req: Request, res: Response, next: NextFunction): void {
    if (typeof req.query.token === 'string' && req.query.token) return next();
    sendPage(
      res,
      400,
      notice('This link is incomplete', 'It has no token. Open the link from the email again, whole.', true),
    );
  }

  /** The CSRF token for a page opened from a link (the browser's cookie is set if it has none yet). */
  const freshCsrf = (req: Request, res: Response) => csrf.tokenFor(formBinding(config, req, res));
  /** The CSRF token for a page answering a form, which `form` has checked: its cookie is there. */
  const postedCsrf = (req: Request) => csrf.tokenFor(sentBinding(config, req) ?? '');

  routes.get('/verify-email', arrive, linkToken, (req, res) => {
    sendPage(res, 200, verifyPage(freshCsrf(req, res), String(req.query.token)));
  });

  routes.post('/verify-email', arrive, form, async (req, res) => {
    try {
      const { email } = await caller(req, res).auth.verifyEmail({ token: field(req, 'token') });
      sendPage(res, 200, notice('Email address verified', `${email} is verified. You can close this page.`));
    } catch (error) {
      const apiError = failure(req, error);
      sendPage(res, apiError.status, notice('The address was not verified', apiError.message, true));
    }
  });

  routes.get('/reset-password', arrive, linkToken, (req, res) => {
    sendPage(res, 200, resetPage(freshCsrf(req, res), String(req.query.token)));
  });

  routes.post('/reset-password', arrive, form, async (req, res) => {
    const token = field(req, 'token');
    try {
      await caller(req, res).auth.resetPassword({ token, password: field(req, 'password') });
      sendPage(
        res,
        200,
        notice(
          'Password changed',
          'Your password has been changed and every session of the account signed out. Sign in with the new password.',
        ),
      );
    } catch (error) {
      const apiError = failure(req, error);
      // A dead link cannot be used again; anything else (a weak password, a spent budget) may be retried.
      if (apiError.apiCode === 'INVALID_OR_EXPIRED_TOKEN')
        return sendPage(res, apiError.status, notice('The password was not changed', apiError.message, true));
      sendPage(res, apiError.status, resetPage(postedCsrf(req), token, apiError.message));
    }
  });

  routes.get('/invites/accept', arrive, linkToken, async (req, res) => {
    try {
      const { principal } = await createContext(services, 'rest', req, res).authenticate();
      const token = String(req.query.token);
      const html =
        principal?.kind === 'session'
          ? acceptPage(freshCsrf(req, res), token, principal.email)
          : signInPage(freshCsrf(req, res), token);
      sendPage(res, 200, html);
    } catch (error) {
      const apiError = failure(req, error);
      sendPage(res, apiError.status, notice('Something went wrong', apiError.message, true));
    }
  });

  routes.post('/invites/accept/sign-in', arrive, form, async (req, res) => {
    const token = field(req, 'token');
    const email = field(req, 'email');
    try {
      // The API's sign-in sets the session cookie on this answer; the browser then opens the invitation again.
      await caller(req, res).auth.signInEmail({ email, password: field(req, 'password') });
      res.redirect(303, `/invites/accept?token=${encodeURIComponent(token)}`);
    } catch (error) {
      const apiError = failure(req, error);
      sendPage(res, apiError.status, signInPage(postedCsrf(req), token, email, apiError.message));
    }
  });

  routes.post('/invites/accept', arrive, form, async (req, res) => {
    const token = field(req, 'token');
    try {
      const { organization, role } = await caller(req, res).user.invites.accept({ token });
      sendPage(res, 200, notice('Invitation accepted', `You joined ${organization.name} as ${role}.`));
    } catch (error) {
      const apiError = failure(req, error);
      // No session, or one that has ended: sign in, here.
      if (apiError.status === 401)
        return sendPage(res, 401, signInPage(postedCsrf(req), token, undefined, apiError.message));
      sendPage(res, apiError.status, notice('The invitation was not accepted', apiError.message, true));
    }
  });

  return routes;
}
