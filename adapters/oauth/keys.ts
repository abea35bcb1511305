/**
 * The provider's signing keys: generated on first start (RS256 and ES256), kept in PostgreSQL with the
 * private JWK encrypted under ENCRYPTION_KEY, never in the repository. Retired keys stay published
 * (for verification) until the tokens they signed have expired.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { SigningKeySchema } from '../../entities/oauth.js';
import type { Encrypter } from '../../server/secrets.js';

const ALGORITHMS = ['RS256', 'ES256'] as const;
/** How long a retired key stays published: longer than any token it signed lives (ID tokens, 1 h). */
export const RETIRED_KEY_PUBLISHED_MS = 24 * 60 * 60 * 1000;

/**
 * Retires the signing keys in use; the next start generates new ones and publishes both until the old
 * ones' tokens have expired. Run `npm run keys:rotate`, then restart the instances.
 */
export function rotateSigningKeys(em: EntityManager, now: Date): Promise<number> {
  return em.nativeUpdate(SigningKeySchema, { retiredAt: null }, { retiredAt: now });
}

export async function loadSigningKeys(em: EntityManager, encrypter: Encrypter, now: Date): Promise<JWK[]> {
  await em
    .getConnection()
    .execute('delete from signing_keys where retired_at < ?', [new Date(now.getTime() - RETIRED_KEY_PUBLISHED_MS)]);
  let keys = await em.find(SigningKeySchema, {}, { orderBy: { createdAt: 'desc' } });
  for (const alg of ALGORITHMS) {
    if (keys.some((k) => k.alg === alg && !k.retiredAt)) continue;
    const { privateKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = {
      ...(await exportJWK(privateKey)),
      alg,
      use: 'sig',
      kid: `${alg.toLowerCase()}-${now.getTime().toString(36)}`,
    };
    // Two instances starting at once may both generate: the primary key keeps one per kid.
    await em
      .getConnection()
      .execute(
        'insert into signing_keys (kid, alg, encrypted_jwk, created_at, retired_at) values (?, ?, ?, ?, null) on conflict do nothing',
        [jwk.kid, alg, encrypter.encrypt(JSON.stringify(jwk)), now],
      );
  }
  keys = await em.fork().find(SigningKeySchema, {}, { orderBy: { createdAt: 'desc' } });
  // Active keys first: oidc-provider signs with the first key of each algorithm.
  const ordered = [...keys.filter((k) => !k.retiredAt), ...keys.filter((k) => k.retiredAt)];
  return ordered.map((k) => JSON.parse(encrypter.decrypt(k.encryptedJwk)) as JWK);
}
