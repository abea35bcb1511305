/** For the MikroORM CLI (`npm run migration:create`); the server builds the same options itself. */
import { ormOptions } from './server/database.js';

export default ormOptions(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
