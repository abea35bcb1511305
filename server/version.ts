import { readFileSync } from 'node:fs';

/** The service version reported by /api/public/health and the OpenAPI document. */
export const VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
