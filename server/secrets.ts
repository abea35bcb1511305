/**
 * Secrets encrypted at rest with AES-256-GCM under ENCRYPTION_KEY (TOTP secrets, the OpenID
 * provider's signing keys). Without ENCRYPTION_KEY outside production, a key is generated once into
 * `<DATA_DIR>/encryption-key` (mode 0600) and said so in the log; production refuses to start without one.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from './config.js';
import type { Logger } from './logger.js';

export interface Encrypter {
  encrypt(plaintext: string): string;
  decrypt(ciphertext: string): string;
  /** A key for another purpose, derived from this one (cookie signing, for example). */
  derive(purpose: string): string;
}

function parseKey(value: string): Buffer {
  return /^[0-9a-f]{64}$/i.test(value)
    ? Buffer.from(value, 'hex')
    : Buffer.from(value, value.includes('-') || value.includes('_') ? 'base64url' : 'base64');
}

export function loadEncryptionKey(config: Config, log: Logger): Buffer {
  if (config.encryptionKey) return parseKey(config.encryptionKey);
  if (config.nodeEnv === 'production') throw new Error('ENCRYPTION_KEY is required in production');
  const file = path.join(config.dataDir, 'encryption-key');
  if (existsSync(file)) return Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
  mkdirSync(config.dataDir, { recursive: true, mode: 0o755 });
  const key = randomBytes(32);
  writeFileSync(file, key.toString('hex'), { mode: 0o600 });
  log.warn({ file }, 'ENCRYPTION_KEY is unset: generated a development key; set ENCRYPTION_KEY in production');
  return key;
}

export function createEncrypter(key: Buffer): Encrypter {
  return {
    encrypt(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [
        'v1',
        iv.toString('base64url'),
        body.toString('base64url'),
        cipher.getAuthTag().toString('base64url'),
      ].join('.');
    },
    decrypt(ciphertext) {
      const [version, iv, body, tag] = ciphertext.split('.');
      if (version !== 'v1' || !iv || !body || !tag) throw new Error('unknown ciphertext format');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    },
    derive(purpose) {
      return createHash('sha256').update(key).update(`\0${purpose}`).digest('base64url');
    },
  };
}
