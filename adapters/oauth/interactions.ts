/**
 * The provider's interactions: sign-in and consent pages under /api/auth/oauth2/interaction/{uid}.
 *
 * - A browser that already holds this service's session cookie is signed in without a form (unless
 *   the client asked for prompt=login or a max_age it has passed); the form signs in with the same
 *   rules as POST /api/auth/sign-in/email and starts the same session cookie.
 * - A user with two-factor on then gets the code form (the challenge cookie of the API's sign-in), and
 *   its code, or a backup code, is checked by the API's own second step (second-factor.ts), under the
 *   same per-IP budget as /api/auth/two-factor/*; a wrong code shows the form again, a dead challenge
 *   tells the user to sign in again.
 * - The sign-in form's email must be an email address (the schema of the API's sign-in): anything
 *   else is the ordinary wrong-credentials answer, and never reaches the database.
 * - The consent page lists every scope the request asks for, offline_access ("stay connected") too:
 *   approving it there is what lets the client have refresh tokens (provider.ts).
 * - An account whose email is not verified is refused at consent (403) and gets no grant: an
 *   unverified address must not mint credentials that outlive the sign-in.
 * - Every form carries a CSRF token bound to the interaction (HMAC of its uid), compared in constant time.
 * - Pages are framed by nobody (frame-ancestors 'none') and work without JavaScript.
 */
import express, { type Request, type Response } from 'express';
import type Provider from 'oidc-provider';
import { OAuthClientSchema } from '../../entities/oauth.js';
import { UserSchema } from '../../entities/user.js';
import { checkPassword } from '../../procedures/auth/check-password.js';
import { Email } from '../../procedures/auth/schemas.js';
import { BackupCodeInput } from '../../procedures/auth/two-factor/backup-codes.js';
import { finishFirstFactor } from '../../procedures/auth/two-factor/challenge.js';
import { verifySecondFactor } from '../../procedures/auth/two-factor/second-factor.js';
import { TotpCode } from '../../procedures/auth/two-factor/totp.js';
import { createContext, type Services } from '../../server/context.js';
import { ApiError, toApiError } from '../../server/errors.js';
import { clientKey } from '../../server/rate-limit.js';
import { rateLimitError } from '../../server/trpc.js';
import { formCsrf } from '../pages/form-csrf.js';
import { USER_SCOPES } from '../../server/scopes.js';
import { consentPage, errorPage, signInPage, twoFactorPage } from './pages.js';
import { OIDC_SCOPES } from './provider.js';

/** The scopes a grant can hold (the provider's `scopes`); anything else a request names is ignored by it. */
const GRANTABLE_SCOPES: ReadonlySet<string> = new Set([...OIDC_SCOPES, ...USER_SCOPES]);

/** Forms post here and the answer redirects on to the client, so form-action must allow its origin too. */
function pageCsp(redirectUri: unknown): string {
  const origin = typeof redirectUri === 'string' && URL.canParse(redirectUri) ? ` ${new URL(redirectUri).origin}` : '';
  return `default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; form-action 'self'${origin}; frame-ancestors 'none'`;
}

export function interactionRoutes(services: Services, provider: Provider, csrfKey: string): express.Router {
  const routes = express.Router();
  const form = express.urlencoded({ extended: false, limit: '16kb' });
  const csrf = formCsrf(csrfKey);
  const csrfFor = csrf.tokenFor;
  const base = (uid: string) => `/api/auth/oauth2/interaction/${uid}`;

  function send(res: Response, status: number, html: string, redirectUri?: unknown) {
    res.status(status).setHeader('Content-Security-Policy', pageCsp(redirectUri));
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(html);
  }

  async function clientName(clientId: unknown) {
    const client =
      typeof clientId === 'string' ? await services.orm.em.fork().findOne(OAuthClientSchema, { id: clientId }) : null;
    return { name: client?.name ?? 'An application', logoUri: client?.logoUri ?? undefined };
  }

  async function emailUnverified(accountId: string): Promise<boolean> {
    const user = await services.orm.em.fork().findOne(UserSchema, { id: accountId }, { fields: ['verifiedAt'] });
    return !user || user.verifiedAt === null;
  }

  const verifyFirst = () =>
    errorPage(
      'Verify your email address first: open the link we emailed you, then go back to the application and try again.',
    );

  const csrfValid = (req: Request, uid: string) => csrf.sentWith(req.body, uid);

  /** Tells the provider who signed in; it redirects on to consent or to the client. */
  const finishLogin = (req: Request, res: Response, accountId: string) =>
    provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });

  routes.get('/:uid', async (req, res) => {
    try {
      const interaction = await provider.interactionDetails(req, res);
      const { uid, prompt, params } = interaction;
      const client = await clientName(params.client_id);
      if (prompt.name === 'login') {
        const forced = prompt.reasons.includes('login_prompt') || prompt.reasons.includes('max_age');
        if (!forced) {
          const ctx = createContext(services, 'rest', req, res);
          const auth = await ctx.authenticate();
          if (auth.principal?.kind === 'session') {
            return void (await finishLogin(req, res, auth.principal.userId));
          }
        }
        const hint = typeof params.login_hint === 'string' ? params.login_hint : undefined;
        return send(
          res,
          200,
          signInPage({ action: `${base(uid)}/login`, csrf: csrfFor(uid), clientName: client.name, email: hint }),
          params.redirect_uri,
        );
      }
      const accountId = interaction.session?.accountId;
      if (accountId && (await emailUnverified(accountId))) return send(res, 403, verifyFirst());
      const details = prompt.details as {
        missingOIDCScope?: string[];
        missingResourceScopes?: Record<string, string[]>;
      };
      // Everything the client will hold once approved (offline_access included), not only what is new:
      // prompt=consent asks again for scopes approved before, and an empty list would approve blindly.
      const requested =
        typeof params.scope === 'string' ? params.scope.split(' ').filter((s) => GRANTABLE_SCOPES.has(s)) : [];
      const scopes = [
        ...new Set([
          ...requested,
          ...(details.missingOIDCScope ?? []),
          ...Object.values(details.missingResourceScopes ?? {}).flat(),
        ]),
      ];
      send(
        res,
        200,
        consentPage({
          action: `${base(uid)}/confirm`,
          abort: `${base(uid)}/abort`,
          csrf: csrfFor(uid),
          clientName: client.name,
          logoUri: client.logoUri,
          scopes,
        }),
        params.redirect_uri,
      );
    } catch (error) {
      send(
        res,
        400,
        errorPage('This sign-in link has expired or is invalid. Go back to the application and start again.'),
      );
      services.log.debug({ err: (error as Error).message }, 'interaction not found');
    }
  });

  routes.post('/:uid/login', form, async (req, res) => {
    const uid = String(req.params.uid);
    if (!csrfValid(req, uid)) return send(res, 403, errorPage('The form has expired; go back and try again.'));
    const { email = '', password = '' } = req.body as { email?: string; password?: string };
    const address = Email.safeParse(email);
    // What was typed goes back into the form, less what no address holds (a NUL, say).
    const normalized = address.success
      ? address.data
      : email
          .trim()
          .toLowerCase()
          // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this removes
          .replace(/[\u0000-\u001f\u007f]/g, '');
    try {
      const interaction = await provider.interactionDetails(req, res);
      const ctx = createContext(services, 'rest', req, res);
      try {
        // The sign-in budget of POST /api/auth/sign-in/email applies here too.
        const budget = await services.limiter.consume('signIn', clientKey(ctx.ip));
        if (!budget.allowed) throw rateLimitError(budget);
        if (!address.success) throw new ApiError('INVALID_CREDENTIALS', 'Invalid email or password');
        const user = await checkPassword(ctx, normalized, password.slice(0, 256));
        const signedIn = await finishFirstFactor(ctx, user.id, 'pwd');
        if (signedIn.twoFactorRequired) {
          const client = await clientName(interaction.params.client_id);
          return send(
            res,
            200,
            twoFactorPage({ action: `${base(uid)}/two-factor`, csrf: csrfFor(uid), clientName: client.name }),
            interaction.params.redirect_uri,
          );
        }
        await finishLogin(req, res, user.id);
      } catch (error) {
        const apiError = toApiError(error);
        const message = apiError.apiCode === 'INVALID_CREDENTIALS' ? 'Invalid email or password.' : apiError.message;
        const client = await clientName(interaction.params.client_id);
        send(
          res,
          apiError.status === 429 ? 429 : 401,
          signInPage({
            action: `${base(uid)}/login`,
            csrf: csrfFor(uid),
            clientName: client.name,
            email: normalized,
            error: message,
          }),
          interaction.params.redirect_uri,
        );
      }
    } catch {
      send(
        res,
        400,
        errorPage('This sign-in link has expired or is invalid. Go back to the application and start again.'),
      );
    }
  });

  routes.post('/:uid/two-factor', form, async (req, res) => {
    const uid = String(req.params.uid);
    if (!csrfValid(req, uid)) return send(res, 403, errorPage('The form has expired; go back and try again.'));
    const { code, backupCode } = req.body as { code?: unknown; backupCode?: unknown };
    const useBackup = typeof backupCode === 'string' && backupCode.trim() !== '';
    try {
      const interaction = await provider.interactionDetails(req, res);
      const again = async (status: number, error: string) => {
        const client = await clientName(interaction.params.client_id);
        send(
          res,
          status,
          twoFactorPage({ action: `${base(uid)}/two-factor`, csrf: csrfFor(uid), clientName: client.name, error }),
          interaction.params.redirect_uri,
        );
      };
      const ctx = createContext(services, 'rest', req, res);
      try {
        const budget = await services.limiter.consume('twoFactor', clientKey(ctx.ip));
        if (!budget.allowed) throw rateLimitError(budget);
        // A malformed code spends no try of the challenge, as on the API.
        const parsed = useBackup ? BackupCodeInput.safeParse(backupCode) : TotpCode.safeParse(code);
        if (!parsed.success) {
          return await again(
            400,
            useBackup ? 'Enter a backup code like abcde-fghij.' : 'Enter the 6-digit code from your authenticator app.',
          );
        }
        const { user } = await verifySecondFactor(ctx, useBackup ? 'backup' : 'otp', parsed.data);
        await finishLogin(req, res, user.id);
      } catch (error) {
        const apiError = toApiError(error);
        if (apiError.apiCode === 'INVALID_OR_EXPIRED_TOKEN') {
          return send(
            res,
            401,
            errorPage(
              'This sign-in has expired or had too many wrong codes. Go back to the application and sign in again.',
            ),
          );
        }
        await again(
          apiError.status === 429 ? 429 : 401,
          apiError.apiCode === 'INVALID_CREDENTIALS' ? 'That code is wrong or was already used.' : apiError.message,
        );
      }
    } catch {
      send(
        res,
        400,
        errorPage('This sign-in link has expired or is invalid. Go back to the application and start again.'),
      );
    }
  });

  routes.post('/:uid/confirm', form, async (req, res) => {
    const uid = String(req.params.uid);
    if (!csrfValid(req, uid)) return send(res, 403, errorPage('The form has expired; go back and try again.'));
    try {
      const interaction = await provider.interactionDetails(req, res);
      const { prompt, params, session } = interaction;
      if (prompt.name !== 'consent' || !session?.accountId) throw new Error('not a consent prompt');
      if (await emailUnverified(session.accountId)) return send(res, 403, verifyFirst());
      const grant = interaction.grantId
        ? (await provider.Grant.find(interaction.grantId))!
        : new provider.Grant({ accountId: session.accountId, clientId: String(params.client_id) });
      const details = prompt.details as {
        missingOIDCScope?: string[];
        missingOIDCClaims?: string[];
        missingResourceScopes?: Record<string, string[]>;
      };
      if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
      if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
      for (const [resource, scopes] of Object.entries(details.missingResourceScopes ?? {}))
        grant.addResourceScope(resource, scopes.join(' '));
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    } catch {
      send(res, 400, errorPage('This request has expired or is invalid. Go back to the application and start again.'));
    }
  });

  routes.post('/:uid/abort', form, async (req, res) => {
    const uid = String(req.params.uid);
    if (!csrfValid(req, uid)) return send(res, 403, errorPage('The form has expired; go back and try again.'));
    try {
      await provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'The user denied the request' },
        { mergeWithLastSubmission: false },
      );
    } catch {
      send(res, 400, errorPage('This request has expired or is invalid.'));
    }
  });

  return routes;
}
