/**
 * `npm run keys:rotate`: retires the OpenID provider's signing keys. Instances started afterwards sign
 * with new keys and keep publishing the old ones for a day, so tokens already issued stay verifiable.
 */
import { rotateSigningKeys } from '../adapters/oauth/keys.js';
import { loadConfig } from './config.js';
import { openDatabase } from './database.js';

const config = loadConfig();
if (!config.databaseUrl) {
  process.stderr.write('Set DATABASE_URL to the database whose keys to rotate.\n');
  process.exit(1);
}
const orm = await openDatabase(config.databaseUrl);
const retired = await rotateSigningKeys(orm.em.fork(), new Date());
process.stdout.write(`Retired ${retired} signing keys; restart the instances to sign with new ones.\n`);
await orm.close();
