/**
 * What bench/run.ts measures against the full app, one after another on the same server. Each
 * target is first requested once and must answer 200 with `success: true`, so that a benchmark
 * never measures how fast the app refuses.
 *
 * An authenticated target (GET /api/user/me) gets `prepare`: it runs once against the fresh app
 * (sign up, sign in) and returns the headers to send (Cookie, Authorization).
 */
export interface Target {
  name: string;
  path: string;
  headers?: Record<string, string>;
  prepare?: (baseUrl: string) => Promise<Record<string, string>>;
  /** Also measure a bare Express handler returning the same body, and compare (bench/bare.ts). */
  baseline?: boolean;
}

export const targets: Target[] = [
  { name: 'GET /api/public/health', path: '/api/public/health', baseline: true },
];
