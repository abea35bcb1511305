/**
 * Every migration, in order. Listed explicitly (not discovered from the folder) so that they load the
 * same way under tsx, vitest and any bundler. `npm run migration:create` writes a new file here; add
 * it to this list.
 */
import { Migration20261127220810 } from './Migration20261127220810.js';
import { Migration20261127223744 } from './Migration20261127223744.js';
import { Migration20261127225419 } from './Migration20261127225419.js';
import { Migration20261127231326 } from './Migration20261127231326.js';
import { Migration20261127233757 } from './Migration20261127233757.js';
import { Migration20261202100000 } from './Migration20261202100000.js';
import { Migration20261202110000 } from './Migration20261202110000.js';
import { Migration20261203100000 } from './Migration20261203100000.js';
import { Migration20261203130000 } from './Migration20261203130000.js';
import { Migration20261203160000 } from './Migration20261203160000.js';
import { Migration20261204090000 } from './Migration20261204090000.js';
import { Migration20261204100000 } from './Migration20261204100000.js';
import { Migration20261204120000 } from './Migration20261204120000.js';
import { Migration20261204150000 } from './Migration20261204150000.js';

export const migrationsList = [
  { name: 'Migration20261127220810', class: Migration20261127220810 },
  { name: 'Migration20261127223744', class: Migration20261127223744 },
  { name: 'Migration20261127225419', class: Migration20261127225419 },
  { name: 'Migration20261127231326', class: Migration20261127231326 },
  { name: 'Migration20261127233757', class: Migration20261127233757 },
  { name: 'Migration20261202100000', class: Migration20261202100000 },
  { name: 'Migration20261202110000', class: Migration20261202110000 },
  { name: 'Migration20261203100000', class: Migration20261203100000 },
  { name: 'Migration20261203130000', class: Migration20261203130000 },
  { name: 'Migration20261203160000', class: Migration20261203160000 },
  { name: 'Migration20261204090000', class: Migration20261204090000 },
  { name: 'Migration20261204100000', class: Migration20261204100000 },
  { name: 'Migration20261204120000', class: Migration20261204120000 },
  { name: 'Migration20261204150000', class: Migration20261204150000 },
];
