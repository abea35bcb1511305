/**
 * Offset pagination shared by every list (API.md section 5): `offset` from 0, `limit` 1..100
 * (default 20). A list procedure returns a page; the REST adapter turns `items` into `data` and the
 * rest into `meta`.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';

export const PageInput = z.object({
  offset: z.coerce.number().int('Must be a whole number').min(0, 'Must be 0 or more').default(0),
  limit: z.coerce
    .number()
    .int('Must be a whole number')
    .min(1, 'Must be between 1 and 100')
    .max(100, 'Must be between 1 and 100')
    .default(20),
});
export type PageRequest = z.output<typeof PageInput>;

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    total: z.number().int(),
    offset: z.number().int(),
    limit: z.number().int(),
    hasMore: z.boolean(),
  });
}

export interface Page<T> {
  items: T[];
  total: number;
  offset: number;
  limit: number;
  hasMore: boolean;
}

export function toPage<T>(items: T[], total: number, request: PageRequest): Page<T> {
  return { items, total, offset: request.offset, limit: request.limit, hasMore: request.offset + items.length < total };
}

/**
 * One page of a raw query and the number of rows matching it, read concurrently. `from` holds the
 * FROM and WHERE clauses (with `?` placeholders for `params`); `orderBy` must end in a unique column.
 */
export async function pageOfRows<T>(
  em: EntityManager,
  query: { columns: string; from: string; orderBy: string; params: unknown[] },
  page: PageRequest,
): Promise<{ rows: T[]; total: number }> {
  const connection = em.getConnection();
  const [rows, counted] = await Promise.all([
    connection.execute<T[]>(`select ${query.columns} ${query.from} order by ${query.orderBy} offset ? limit ?`, [
      ...query.params,
      page.offset,
      page.limit,
    ]),
    connection.execute<{ total: string }[]>(`select count(*) as total ${query.from}`, query.params),
  ]);
  return { rows, total: Number(counted[0]?.total ?? 0) };
}
