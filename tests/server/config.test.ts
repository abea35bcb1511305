import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { baseSchema, ConfigError, DEFAULT_BUDGETS, loadConfig } from '../../server/config.js';

describe('configuration', () => {
  it('has a default for everything', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      baseUrl: 'http://localhost:3000',
      databaseUrl: undefined,
      redisUrl: undefined,
      rateLimitPrefix: 'rl',
      trustProxy: false,
      trustedOrigins: ['http://localhost:3000'],
      logLevel: 'info',
      nodeEnv: 'development',
    });
    expect(config.budgets).toEqual(DEFAULT_BUDGETS);
    expect(config.mailDir).toMatch(/\.data\/mail$/);
  });

  it('reads every budget from RATE_LIMIT_<NAME>_POINTS and _DURATION', () => {
    const config = loadConfig({
      RATE_LIMIT_GLOBAL_POINTS: '7',
      RATE_LIMIT_SIGN_IN_DURATION: '120',
      RATE_LIMIT_FAILED_SIGN_IN_POINTS: '3',
    });
    expect(config.budgets.global).toEqual({ points: 7, duration: 900 });
    expect(config.budgets.signIn).toEqual({ points: 5, duration: 120 });
    expect(config.budgets.failedSignIn).toMatchObject({ points: 3, blockDuration: 900 });
  });

  it('parses TRUST_PROXY as a hop count or a list of addresses', () => {
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).trustProxy).toEqual(['loopback', '10.0.0.0/8']);
  });

  it('names every bad variable, one line each', () => {
    const bad = {
      PORT: 'eighty',
      DATABASE_URL: 'mysql://x',
      REDIS_URL: 'http://localhost',
      LOG_LEVEL: 'loud',
      TRUST_PROXY: 'not-an-ip',
      TRUSTED_ORIGINS: 'https://ok.example.com,https://bad.example.com/path',
      RATE_LIMIT_GLOBAL_POINTS: '-1',
      ENCRYPTION_KEY: 'short',
    };
    let error: unknown;
    try {
      loadConfig(bad);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(Object.keys(bad).sort());
    expect((error as ConfigError).message.split('\n')).toHaveLength(Object.keys(bad).length + 1);
  });
});

describe('production', () => {
  it('requires ENCRYPTION_KEY', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/ENCRYPTION_KEY: is required in production/);
    expect(loadConfig({ NODE_ENV: 'production', ENCRYPTION_KEY: 'a'.repeat(64) }).nodeEnv).toBe('production');
  });

  it('is documented: every variable in the README table and in .env.example, whose values load', () => {
    const readme = readFileSync('README.md', 'utf8');
    const example = readFileSync('.env.example', 'utf8');
    for (const name of Object.keys(baseSchema.shape)) {
      expect(readme, name).toContain(`| \`${name}\` |`);
      expect(example, name).toMatch(new RegExp(`^#? ?${name}=`, 'm'));
    }
    const set = Object.fromEntries(
      example
        .split('\n')
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(() => loadConfig(set)).not.toThrow();
  });
});
