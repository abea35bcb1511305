/**
 * Passkeys over REST without a browser: the test is its own authenticator (an ES256 key made with
 * node:crypto, authenticator data and clientDataJSON built by hand and signed), so that it can also
 * send what no honest browser would: another origin or RP ID, a replayed or foreign challenge, a
 * counter that went backwards, broken base64, CBOR and attestations. Each is a clear 4xx that writes
 * nothing. The browser flow itself is tests/auth/passkeys-browser.test.ts.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginEventSchema } from '../../entities/login-history.js';
import { PasskeySchema, WebAuthnChallengeSchema } from '../../entities/passkey.js';
import { SessionSchema } from '../../entities/session.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { createApiKey } from '../support/api-keys.js';
import { asBrowser, ORIGIN, postJson, sessionCookieFrom, signUp, type SignedUp } from '../support/identity.js';

const RP_ID = 'localhost';
const b64u = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

/** Just enough CBOR (RFC 8949) for a COSE key and a "none" attestation object. */
function cbor(value: unknown): Buffer {
  const head = (major: number, n: number) => {
    if (n < 24) return Buffer.from([(major << 5) | n]);
    if (n < 256) return Buffer.from([(major << 5) | 24, n]);
    const b = Buffer.alloc(3);
    b[0] = (major << 5) | 25;
    b.writeUInt16BE(n, 1);
    return b;
  };
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === 'string') return Buffer.concat([head(3, Buffer.byteLength(value)), Buffer.from(value)]);
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), value]);
  if (value instanceof Map) {
    const parts = [...value].flatMap(([k, v]) => [cbor(k), cbor(v)]);
    return Buffer.concat([head(5, value.size), ...parts]);
  }
  throw new Error(`cbor: unsupported ${typeof value}`);
}

/** A software authenticator holding one discoverable ES256 credential. */
class SoftAuthenticator {
  readonly credentialId = randomBytes(32);
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  counter = 0;
  readonly userHandle: string;

  constructor(userHandle: string) {
    this.userHandle = userHandle;
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = pair.privateKey;
    this.publicKey = pair.publicKey;
  }

  get id(): string {
    return b64u(this.credentialId);
  }

  private coseKey(): Buffer {
    const jwk = this.publicKey.export({ format: 'jwk' });
    return cbor(
      new Map<number, unknown>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x!, 'base64url')],
        [-3, Buffer.from(jwk.y!, 'base64url')],
      ]),
    );
  }

  private authData(rpId: string, flags: number, counter: number, attested?: Buffer): Buffer {
    const count = Buffer.alloc(4);
    count.writeUInt32BE(counter);
    return Buffer.concat([sha256(rpId), Buffer.from([flags]), count, ...(attested ? [attested] : [])]);
  }

  /** navigator.credentials.create()'s answer, as JSON. */
  register(challenge: string, opts: { origin?: string; rpId?: string } = {}) {
    const clientData = JSON.stringify({
      type: 'webauthn.create',
      challenge,
      origin: opts.origin ?? ORIGIN,
      crossOrigin: false,
    });
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(this.credentialId.length);
    const attested = Buffer.concat([Buffer.alloc(16), idLength, this.credentialId, this.coseKey()]);
    const authData = this.authData(opts.rpId ?? RP_ID, 0x01 | 0x04 | 0x40, this.counter, attested);
    const attestationObject = cbor(
      new Map<string, unknown>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]),
    );
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64u(clientData),
        attestationObject: b64u(attestationObject),
        transports: ['internal'],
      },
    };
  }

  /** navigator.credentials.get()'s answer, as JSON; the counter goes up by one unless given. */
  assert(
    challenge: string,
    opts: { origin?: string; rpId?: string; counter?: number; key?: KeyObject; userHandle?: string } = {},
  ) {
    const counter = opts.counter ?? ++this.counter;
    const clientData = JSON.stringify({ type: 'webauthn.get', challenge, origin: opts.origin ?? ORIGIN });
    const authData = this.authData(opts.rpId ?? RP_ID, 0x01 | 0x04, counter);
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientData)]), opts.key ?? this.privateKey);
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64u(clientData),
        authenticatorData: b64u(authData),
        signature: b64u(signature),
        userHandle: b64u(opts.userHandle ?? this.userHandle),
      },
    };
  }
}

describe('passkeys over REST', () => {
  let t: TestApp;
  /** How far the service's clock is ahead of the real one. */
  let clockOffset = 0;
  const db = () => t.services.orm.em.fork();

  beforeAll(async () => {
    t = await startTestApp({
      env: { RATE_LIMIT_PASSKEY_POINTS: '1000', RATE_LIMIT_SIGN_UP_POINTS: '1000' },
      now: () => new Date(Date.now() + clockOffset),
    });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  const registerOptions = async (user: SignedUp) => {
    const res = await postJson(t, '/api/auth/passkey/register/options', {}, user.cookie);
    expect(res.status).toBe(200);
    return res.body.data as { challenge: string; user: { id: string } };
  };
  const registerVerify = (user: SignedUp, response: unknown, name?: string) =>
    postJson(t, '/api/auth/passkey/register/verify', { response, ...(name ? { name } : {}) }, user.cookie);
  const authOptions = async () => {
    const res = await postJson(t, '/api/auth/passkey/authenticate/options', {});
    expect(res.status).toBe(200);
    return res.body.data as { challenge: string };
  };
  const authVerify = (response: unknown) => postJson(t, '/api/auth/passkey/authenticate/verify', { response });

  /** A user with one registered passkey. */
  async function userWithPasskey() {
    const user = await signUp(t);
    const authenticator = new SoftAuthenticator(user.userId);
    const { challenge } = await registerOptions(user);
    const res = await registerVerify(user, authenticator.register(challenge), 'Laptop');
    expect(res.status).toBe(201);
    return { user, authenticator, passkeyId: res.body.data.id as string };
  }

  const passkeysOf = (userId: string) => db().count(PasskeySchema, { userId });
  const sessionsOf = (userId: string) => db().count(SessionSchema, { userId });
  const historyOf = (userId: string) =>
    db().find(LoginEventSchema, { userId, method: 'webauthn' }, { orderBy: { createdAt: 'asc', id: 'asc' } });

  it('gives registration options for a discoverable credential on BASE_URL, and keeps only the hash of the challenge', async () => {
    const user = await signUp(t);
    const options = await registerOptions(user);
    expect(options).toMatchObject({
      rp: { id: RP_ID, name: expect.any(String) },
      user: { id: b64u(user.userId), name: user.email, displayName: 'Ada Lovelace' },
      attestation: 'none',
      excludeCredentials: [],
      authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'preferred' },
      timeout: 300_000,
    });
    expect(options.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const row = await db().findOneOrFail(WebAuthnChallengeSchema, {
      challengeHash: sha256(options.challenge).toString('hex'),
    });
    expect(row).toMatchObject({ purpose: 'register', userId: user.userId, usedAt: null });
    expect(row.expiresAt.getTime() - row.createdAt.getTime()).toBe(5 * 60 * 1000);
  });

  it('registers a passkey, lists it, and excludes it from the next registration', async () => {
    const { user, authenticator, passkeyId } = await userWithPasskey();
    const list = await t.request('/api/auth/passkey/list', { headers: asBrowser(user.cookie) });
    expect(list.status).toBe(200);
    expect(list.body.data).toEqual([
      {
        id: passkeyId,
        name: 'Laptop',
        createdAt: expect.any(String),
        lastUsedAt: null,
        deviceType: 'singleDevice',
        backedUp: false,
      },
    ]);
    expect(list.body.meta).toMatchObject({ total: 1, offset: 0, limit: 20, hasMore: false });
    const stored = await db().findOneOrFail(PasskeySchema, { id: passkeyId });
    expect(stored).toMatchObject({ credentialId: authenticator.id, transports: ['internal'] });
    expect(String(stored.counter)).toBe('0');
    expect(JSON.stringify(list.body)).not.toContain(stored.publicKey);

    const again = await registerOptions(user);
    expect((again as unknown as { excludeCredentials: unknown[] }).excludeCredentials).toEqual([
      { id: authenticator.id, type: 'public-key', transports: ['internal'] },
    ]);
  });

  it('refuses hostile registrations with a clear 4xx and stores nothing', async () => {
    const user = await signUp(t);
    const other = await signUp(t);
    const authenticator = new SoftAuthenticator(user.userId);
    const expectRefused = async (response: unknown, status: number, code: string) => {
      const res = await registerVerify(user, response);
      expect({ status: res.status, code: res.body.code }).toEqual({ status, code });
      expect(res.body.message).toEqual(expect.any(String));
    };

    // A challenge nobody issued, and one issued to another user (which stays usable by them).
    await expectRefused(authenticator.register(b64u(randomBytes(32))), 400, 'BAD_REQUEST');
    const foreign = await registerOptions(other);
    await expectRefused(authenticator.register(foreign.challenge), 400, 'BAD_REQUEST');
    expect(
      (await db().findOneOrFail(WebAuthnChallengeSchema, { challengeHash: sha256(foreign.challenge).toString('hex') }))
        .usedAt,
    ).toBeNull();
    // An authentication challenge is not a registration one.
    await expectRefused(authenticator.register((await authOptions()).challenge), 400, 'BAD_REQUEST');

    // Made for another origin or RP ID: the library refuses, and the challenge is spent all the same.
    const forOrigin = await registerOptions(user);
    await expectRefused(
      authenticator.register(forOrigin.challenge, { origin: 'https://evil.example' }),
      400,
      'BAD_REQUEST',
    );
    await expectRefused(authenticator.register(forOrigin.challenge), 400, 'BAD_REQUEST');
    await expectRefused(
      authenticator.register((await registerOptions(user)).challenge, { rpId: 'evil.example' }),
      400,
      'BAD_REQUEST',
    );

    // Broken encodings: not base64url, clientDataJSON that is not JSON, CBOR that is not CBOR, a
    // truncated attestation, a missing field.
    const good = () => registerOptions(user).then((o) => authenticator.register(o.challenge));
    const notBase64 = await good();
    notBase64.response.attestationObject = '***';
    await expectRefused(notBase64, 400, 'VALIDATION_ERROR');
    const notJson = await good();
    notJson.response.clientDataJSON = b64u('{"challenge": ');
    await expectRefused(notJson, 400, 'BAD_REQUEST');
    const badCbor = await good();
    badCbor.response.attestationObject = b64u(Buffer.from([0xbf, 0xff, 0x1c, 0x00, 0x41]));
    await expectRefused(badCbor, 400, 'BAD_REQUEST');
    const truncated = await good();
    const whole = Buffer.from(truncated.response.attestationObject, 'base64url');
    truncated.response.attestationObject = b64u(whole.subarray(0, whole.length - 40));
    await expectRefused(truncated, 400, 'BAD_REQUEST');
    const noAuthData = await good();
    noAuthData.response.attestationObject = b64u(cbor(new Map([['fmt', 'none']])));
    await expectRefused(noAuthData, 400, 'BAD_REQUEST');
    const missing = await good();
    (missing.response as Partial<typeof missing.response>).clientDataJSON = undefined;
    await expectRefused(missing, 400, 'VALIDATION_ERROR');
    const tooLong = await good();
    tooLong.id = 'A'.repeat(1025);
    await expectRefused(tooLong, 400, 'VALIDATION_ERROR');

    expect(await passkeysOf(user.userId)).toBe(0);
  });

  it('refuses a credential that is already registered, to anyone, with CONFLICT', async () => {
    const { authenticator } = await userWithPasskey();
    const thief = await signUp(t);
    const res = await registerVerify(thief, authenticator.register((await registerOptions(thief)).challenge));
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 409, code: 'CONFLICT' });
    expect(await passkeysOf(thief.userId)).toBe(0);
  });

  it('gives usernameless sign-in options bound to nobody', async () => {
    const options = await authOptions();
    expect(options).toMatchObject({ rpId: RP_ID, allowCredentials: [], userVerification: 'preferred' });
    const row = await db().findOneOrFail(WebAuthnChallengeSchema, {
      challengeHash: sha256(options.challenge).toString('hex'),
    });
    expect(row).toMatchObject({ purpose: 'authenticate', userId: null, usedAt: null });
  });

  it('signs in with a passkey: a new session made by webauthn, no second factor even with TOTP on', async () => {
    const { user, authenticator, passkeyId } = await userWithPasskey();
    const now = new Date();
    await db()
      .getConnection()
      .execute(`insert into two_factors values (?, 'not-a-real-secret', ?, null, ?, ?)`, [user.userId, now, now, now]);

    const res = await authVerify(authenticator.assert((await authOptions()).challenge));
    expect(res.status).toBe(200);
    expect(res.body.data.user).toEqual({
      id: user.userId,
      email: user.email,
      fullName: 'Ada Lovelace',
      isVerified: true,
    });
    const cookie = sessionCookieFrom(res.headers)!;
    expect(cookie).toBeDefined();
    const session = await db().findOneOrFail(SessionSchema, { id: res.body.data.session.id });
    expect(session.authMethods).toEqual(['webauthn']);
    expect((await t.request('/api/user/me', { headers: asBrowser(cookie) })).body.data.id).toBe(user.userId);

    const stored = await db().findOneOrFail(PasskeySchema, { id: passkeyId });
    expect(String(stored.counter)).toBe('1');
    expect(stored.lastUsedAt).not.toBeNull();
    expect((await historyOf(user.userId)).map((e) => [e.outcome, e.reason])).toEqual([['success', null]]);
  });

  it('refuses a replayed assertion, and one made for another origin or RP ID, or signed by another key', async () => {
    const { user, authenticator } = await userWithPasskey();
    const first = authenticator.assert((await authOptions()).challenge);
    expect((await authVerify(first)).status).toBe(200);
    const sessions = await sessionsOf(user.userId);

    const replay = await authVerify(first);
    expect({ status: replay.status, code: replay.body.code }).toEqual({ status: 400, code: 'BAD_REQUEST' });
    expect(replay.headers.getSetCookie()).toEqual([]);

    const refusals = [
      authenticator.assert((await authOptions()).challenge, { origin: 'https://evil.example' }),
      authenticator.assert((await authOptions()).challenge, { rpId: 'evil.example' }),
      authenticator.assert((await authOptions()).challenge, {
        key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
      }),
      authenticator.assert((await authOptions()).challenge, { userHandle: 'someone-else' }),
    ];
    for (const response of refusals) {
      const res = await authVerify(response);
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });
      expect(res.headers.getSetCookie()).toEqual([]);
    }
    // A challenge of a register call is not a sign-in challenge.
    const registerChallenge = await registerOptions(user);
    const wrongPurpose = await authVerify(authenticator.assert(registerChallenge.challenge));
    expect({ status: wrongPurpose.status, code: wrongPurpose.body.code }).toEqual({ status: 400, code: 'BAD_REQUEST' });
    // Not a challenge we issued, and clientDataJSON that is not JSON.
    const unknown = await authVerify(authenticator.assert(b64u(randomBytes(32))));
    expect(unknown.status).toBe(400);
    const garbled = authenticator.assert((await authOptions()).challenge);
    garbled.response.clientDataJSON = b64u('not json');
    expect((await authVerify(garbled)).body.code).toBe('BAD_REQUEST');
    const badData = authenticator.assert((await authOptions()).challenge);
    badData.response.authenticatorData = b64u(Buffer.from([1, 2, 3]));
    expect((await authVerify(badData)).body.code).toBe('INVALID_CREDENTIALS');

    expect(await sessionsOf(user.userId)).toBe(sessions);
    expect((await historyOf(user.userId)).map((e) => [e.outcome, e.reason])).toEqual([
      ['success', null],
      ['failure', 'not-verified'],
      ['failure', 'not-verified'],
      ['failure', 'not-verified'],
      ['failure', 'user-handle-mismatch'],
      ['failure', 'not-verified'],
    ]);
  });

  it('lets only one of two concurrent uses of one assertion through', async () => {
    const { user, authenticator } = await userWithPasskey();
    const response = authenticator.assert((await authOptions()).challenge);
    const results = await Promise.all([authVerify(response), authVerify(response)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
    expect(await sessionsOf(user.userId)).toBe(2);
  });

  it('lets challenges expire after 5 minutes', async () => {
    const { user, authenticator } = await userWithPasskey();
    const registration = await registerOptions(user);
    const signIn = await authOptions();
    clockOffset = 5 * 60 * 1000 + 1000;
    try {
      const late = [
        await registerVerify(user, new SoftAuthenticator(user.userId).register(registration.challenge)),
        await authVerify(authenticator.assert(signIn.challenge)),
      ];
      expect(late.map((r) => [r.status, r.body.code])).toEqual([
        [400, 'BAD_REQUEST'],
        [400, 'BAD_REQUEST'],
      ]);
    } finally {
      clockOffset = 0;
    }
    expect(await passkeysOf(user.userId)).toBe(1);
  });

  it('answers an unknown credential with INVALID_CREDENTIALS and records it nowhere', async () => {
    const stranger = new SoftAuthenticator('01ZZZZZZZZZZZZZZZZZZZZZZZZ');
    const before = await db().count(LoginEventSchema, {});
    const res = await authVerify(stranger.assert((await authOptions()).challenge));
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });
    expect(await db().count(LoginEventSchema, {})).toBe(before);
  });

  it('refuses a signature counter that went backwards (a cloned authenticator) and records it', async () => {
    const { user, authenticator, passkeyId } = await userWithPasskey();
    for (let i = 0; i < 3; i++)
      expect((await authVerify(authenticator.assert((await authOptions()).challenge))).status).toBe(200);
    const sessions = await sessionsOf(user.userId);

    for (const counter of [2, 3]) {
      const res = await authVerify(authenticator.assert((await authOptions()).challenge, { counter }));
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });
    }
    expect(String((await db().findOneOrFail(PasskeySchema, { id: passkeyId })).counter)).toBe('3');
    expect(await sessionsOf(user.userId)).toBe(sessions);
    expect((await historyOf(user.userId)).slice(-2).map((e) => [e.outcome, e.reason])).toEqual([
      ['failure', 'counter-regressed'],
      ['failure', 'counter-regressed'],
    ]);
    // The genuine authenticator, counting on, still signs in.
    expect((await authVerify(authenticator.assert((await authOptions()).challenge))).status).toBe(200);
  });

  it('accepts authenticators that do not count (counter always 0)', async () => {
    const { authenticator } = await userWithPasskey();
    for (let i = 0; i < 2; i++) {
      const res = await authVerify(authenticator.assert((await authOptions()).challenge, { counter: 0 }));
      expect(res.status).toBe(200);
    }
  });

  it('tells a deactivated account so once the passkey is proven, and starts no session', async () => {
    const { user, authenticator } = await userWithPasskey();
    await db().getConnection().execute('update users set is_active = false where id = ?', [user.userId]);
    const sessions = await sessionsOf(user.userId);
    const res = await authVerify(authenticator.assert((await authOptions()).challenge));
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 401, code: 'USER_NOT_ACTIVE' });
    expect(await sessionsOf(user.userId)).toBe(sessions);
    expect((await historyOf(user.userId)).at(-1)).toMatchObject({ outcome: 'failure', reason: 'inactive' });
  });

  it('lists and deletes passkeys with a session only; deleting needs the password and only finds my own', async () => {
    const { user, authenticator, passkeyId } = await userWithPasskey();
    const other = await signUp(t);
    const key = await createApiKey(t, { userId: user.userId });
    const del = (cookie: string | undefined, body: unknown, headers: Record<string, string> = {}) =>
      t.request(`/api/auth/passkey/${passkeyId}`, {
        method: 'DELETE',
        headers: asBrowser(cookie, headers),
        body: JSON.stringify(body),
      });

    const withKey = await t.request('/api/auth/passkey/list', { headers: { 'x-api-key': key } });
    expect({ status: withKey.status, code: withKey.body.code }).toEqual({ status: 403, code: 'FORBIDDEN' });
    expect((await del(undefined, { password: user.password }, { 'x-api-key': key })).body.code).toBe('FORBIDDEN');
    expect((await t.request('/api/auth/passkey/list')).body.code).toBe('AUTHENTICATION_REQUIRED');
    expect(
      (await postJson(t, '/api/auth/passkey/register/options', {}, undefined, { 'x-api-key': key })).body.code,
    ).toBe('FORBIDDEN');
    expect((await t.request('/api/auth/passkey/list', { headers: asBrowser(other.cookie) })).body.data).toEqual([]);

    const noPassword = await del(user.cookie, {});
    expect({ status: noPassword.status, code: noPassword.body.code }).toEqual({
      status: 403,
      code: 'REAUTHENTICATION_REQUIRED',
    });
    const wrongPassword = await del(user.cookie, { password: 'not my password at all' });
    expect({ status: wrongPassword.status, code: wrongPassword.body.code }).toEqual({
      status: 401,
      code: 'INVALID_CREDENTIALS',
    });
    const notMine = await del(other.cookie, { password: other.password });
    expect({ status: notMine.status, code: notMine.body.code }).toEqual({ status: 404, code: 'NOT_FOUND' });
    const badId = await t.request('/api/auth/passkey/not-an-id', {
      method: 'DELETE',
      headers: asBrowser(user.cookie),
      body: JSON.stringify({ password: user.password }),
    });
    expect(badId.body.code).toBe('VALIDATION_ERROR');
    expect(await passkeysOf(user.userId)).toBe(1);

    const deleted = await del(user.cookie, { password: user.password });
    expect({ status: deleted.status, data: deleted.body.data }).toEqual({ status: 200, data: { id: passkeyId } });
    expect(await passkeysOf(user.userId)).toBe(0);
    const after = await authVerify(authenticator.assert((await authOptions()).challenge));
    expect({ status: after.status, code: after.body.code }).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });
  });

  it('spends the passkey budget per IP', async () => {
    const limited = await startTestApp({ env: { RATE_LIMIT_PASSKEY_POINTS: '2' } });
    try {
      const statuses = [];
      for (let i = 0; i < 3; i++) {
        statuses.push((await postJson(limited, '/api/auth/passkey/authenticate/options', {})).status);
      }
      expect(statuses).toEqual([200, 200, 429]);
    } finally {
      await limited.close();
    }
  });
});
