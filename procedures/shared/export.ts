/**
 * Streamed exports (meta.stream): the output schema of a file, and rows read newest first in
 * keyset-paged batches, so that an export of any size holds one batch in memory.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';

const BATCH = 500;

const Lines = z
  .custom<AsyncIterable<string>>(
    (value) => typeof (value as AsyncIterable<string> | null)?.[Symbol.asyncIterator] === 'function',
  )
  .meta({ override: { type: 'string', description: 'The file, streamed' } });

/** What a streamed procedure returns; REST writes `lines` as the body (adapters/rest/stream.ts). */
export const StreamedFileOutput = z.object({ filename: z.string(), contentType: z.string(), lines: Lines });

/**
 * The rows of `select columns from … where …`, newest first (`alias.created_at desc, alias.id desc`),
 * `BATCH` at a time; each batch starts after the last row of the one before.
 */
export async function* newestFirst<T extends { id: string; created_at: unknown }>(
  em: EntityManager,
  query: { columns: string; from: string; where: string; params: unknown[]; alias: string },
): AsyncGenerator<T> {
  const { alias } = query;
  let after: [createdAt: unknown, id: string] | undefined;
  for (;;) {
    const keyset = after ? ` and (${alias}.created_at, ${alias}.id) < (?, ?)` : '';
    const rows = await em
      .getConnection()
      .execute<T[]>(
        `select ${query.columns} ${query.from} where ${query.where}${keyset} order by ${alias}.created_at desc, ${alias}.id desc limit ${BATCH}`,
        after ? [...query.params, ...after] : query.params,
      );
    yield* rows;
    if (rows.length < BATCH) return;
    const last = rows[rows.length - 1]!;
    after = [last.created_at, last.id];
  }
}
