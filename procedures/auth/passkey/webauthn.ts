/**
 * What the passkey procedures share: the relying party, the challenges, the JSON shapes of WebAuthn
 * responses. The WebAuthn checks themselves are @simplewebauthn/server's.
 *
 * - The RP ID is the hostname of BASE_URL and the only origin accepted is BASE_URL's origin: a
 *   passkey is bound to the host users see in their address bar, and a response made for any other
 *   origin or RP ID fails verification.
 * - A challenge lives 5 minutes and is used once: options store only its SHA-256, with its purpose
 *   (register or authenticate) and, for registration, the signed-in user. A verify call spends the
 *   challenge named in the response's clientDataJSON with one conditional UPDATE before anything else
 *   is checked, so two concurrent uses of one challenge cannot both pass, and a failed attempt cannot
 *   be retried with the same challenge. A challenge that is unknown, expired, used, of the other
 *   purpose or another user's is 400 BAD_REQUEST: the client must ask for new options.
 * - Responses are shape-checked (base64url strings of bounded length) before the library sees them;
 *   whatever the library throws on a malformed one (CBOR, truncated data) is a 4xx, never a 500.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { WebAuthnChallengeSchema, type WebAuthnChallenge } from '../../../entities/passkey.js';
import type { Config } from '../../../server/config.js';
import { sha256Hex } from '../../../server/crypto.js';
import { ApiError } from '../../../server/errors.js';
import { newId } from '../../../server/ids.js';

export const CHALLENGE_TTL_MS = 5 * 60 * 1000;
/** What authenticators show next to the account name. */
export const RP_NAME = 'Multi-tenant API';

export function relyingParty(config: Pick<Config, 'baseUrl'>): { rpID: string; origin: string } {
  const url = new URL(config.baseUrl);
  return { rpID: url.hostname, origin: url.origin };
}

const base64url = (max: number) =>
  z
    .string()
    .min(1, 'Must not be empty')
    .max(max, `Must be at most ${max} characters`)
    .regex(/^[A-Za-z0-9_-]+$/, 'Must be base64url (A-Z a-z 0-9 - _, no padding)');

/** A credential id: the column holds 1024 characters (768 bytes; authenticators use 16 to 64). */
const CredentialId = base64url(1024);
const ClientExtensionResults = z.record(z.string(), z.unknown()).default({});
const Attachment = z
  .enum(['platform', 'cross-platform'])
  .nullish()
  .transform((v) => v ?? undefined);

/** What `credential.toJSON()` gives after navigator.credentials.create() (RegistrationResponseJSON). */
export const RegistrationResponse = z.object({
  id: CredentialId,
  rawId: CredentialId,
  type: z.literal('public-key'),
  authenticatorAttachment: Attachment,
  clientExtensionResults: ClientExtensionResults,
  response: z.object({
    clientDataJSON: base64url(8192),
    attestationObject: base64url(65536),
    authenticatorData: base64url(16384).optional(),
    transports: z.array(z.string().max(32)).max(10).optional(),
    publicKeyAlgorithm: z.number().int().optional(),
    publicKey: base64url(8192).optional(),
  }),
});

/** What `credential.toJSON()` gives after navigator.credentials.get() (AuthenticationResponseJSON). */
export const AuthenticationResponse = z.object({
  id: CredentialId,
  rawId: CredentialId,
  type: z.literal('public-key'),
  authenticatorAttachment: Attachment,
  clientExtensionResults: ClientExtensionResults,
  response: z.object({
    clientDataJSON: base64url(8192),
    authenticatorData: base64url(16384),
    signature: base64url(8192),
    userHandle: base64url(128)
      .nullish()
      .transform((v) => v ?? undefined),
  }),
});

/** The client extensions this service asks for (none beyond the library's credProps). */
const Extensions = z.object({ credProps: z.boolean().optional() });

const Descriptor = z.object({ id: z.string(), type: z.string(), transports: z.array(z.string()).optional() });

/** PublicKeyCredentialCreationOptionsJSON, for navigator.credentials.create({publicKey}). */
export const CreationOptions = z.object({
  challenge: z.string(),
  rp: z.object({ name: z.string(), id: z.string().optional() }),
  user: z.object({ id: z.string(), name: z.string(), displayName: z.string() }),
  pubKeyCredParams: z.array(z.object({ alg: z.number(), type: z.string() })),
  timeout: z.number().optional(),
  excludeCredentials: z.array(Descriptor).optional(),
  authenticatorSelection: z
    .object({
      authenticatorAttachment: z.string().optional(),
      residentKey: z.string().optional(),
      requireResidentKey: z.boolean().optional(),
      userVerification: z.string().optional(),
    })
    .optional(),
  hints: z.array(z.string()).optional(),
  attestation: z.string().optional(),
  extensions: Extensions.optional(),
});

/** PublicKeyCredentialRequestOptionsJSON, for navigator.credentials.get({publicKey}). */
export const RequestOptions = z.object({
  challenge: z.string(),
  rpId: z.string().optional(),
  allowCredentials: z.array(Descriptor).optional(),
  timeout: z.number().optional(),
  userVerification: z.string().optional(),
  hints: z.array(z.string()).optional(),
  extensions: Extensions.optional(),
});

/** Stores an options call's challenge (its hash only). */
export async function storeChallenge(
  em: EntityManager,
  challenge: string,
  purpose: WebAuthnChallenge['purpose'],
  userId: string | null,
  now: Date,
): Promise<void> {
  em.persist(
    em.create(WebAuthnChallengeSchema, {
      id: newId(),
      challengeHash: sha256Hex(challenge),
      purpose,
      userId,
      expiresAt: new Date(now.getTime() + CHALLENGE_TTL_MS),
      usedAt: null,
      createdAt: now,
    }),
  );
  await em.flush();
}

/** The challenge a response signed, read from its clientDataJSON; BAD_REQUEST when unreadable. */
export function challengeOf(clientDataJSON: string): string {
  let challenge: unknown;
  try {
    challenge = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8'))?.challenge;
  } catch {
    throw new ApiError('BAD_REQUEST', 'response.clientDataJSON is not base64url-encoded JSON');
  }
  if (typeof challenge !== 'string' || !/^[A-Za-z0-9_-]{16,128}$/.test(challenge)) {
    throw new ApiError('BAD_REQUEST', 'response.clientDataJSON holds no challenge of ours');
  }
  return challenge;
}

/**
 * Spends the challenge: marks it used if it is live, of this purpose and (for registration) this
 * user's; BAD_REQUEST otherwise. Runs on its own, so the challenge stays spent whatever follows.
 */
export async function consumeChallenge(
  em: EntityManager,
  challenge: string,
  purpose: WebAuthnChallenge['purpose'],
  userId: string | null,
  now: Date,
): Promise<void> {
  const used = await em.nativeUpdate(
    WebAuthnChallengeSchema,
    { challengeHash: sha256Hex(challenge), purpose, userId, usedAt: null, expiresAt: { $gt: now } },
    { usedAt: now },
  );
  if (used !== 1) {
    throw new ApiError(
      'BAD_REQUEST',
      'The passkey challenge is unknown, expired or already used; ask for new options and try again',
    );
  }
}

/** Whatever the WebAuthn library threw, as a one-line reason (it throws plain Errors with a sentence). */
export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message.slice(0, 300) : 'unreadable response';
}
