/**
 * Procedures that exist only in tests, served beside the real ones, to exercise what the real API
 * has no route for yet: a body input, a list, a path parameter, a thrown bug, a slow request, a
 * transaction held open, a write whose answer is lost.
 */
import { z } from 'zod';
import { appRouter } from '../../procedures/index.js';
import { mergeRouters, publicProcedure, router, userProcedure } from '../../server/trpc.js';

export const SECRET_DETAIL = 'secret-detail-that-must-not-leak';

const testing = router({
  echo: publicProcedure
    .meta({
      openapi: { method: 'POST', path: '/public/testing/echo' },
      message: 'Echo created successfully',
      status: 201,
    })
    .input(z.strictObject({ name: z.string().min(1), website: z.url().optional(), count: z.number().int().min(0) }))
    .output(z.object({ name: z.string(), website: z.string().nullable(), count: z.number() }))
    .mutation(({ input }) => ({ name: input.name, website: input.website ?? null, count: input.count })),
  items: publicProcedure
    .meta({ openapi: { method: 'GET', path: '/public/testing/items' }, message: 'Items fetched successfully' })
    .input(
      z.object({
        offset: z.coerce.number().int().min(0).default(0),
        limit: z.coerce.number().int().min(1).max(100).default(20),
      }),
    )
    .output(
      z.object({
        items: z.array(z.object({ n: z.number() })),
        total: z.number(),
        offset: z.number(),
        limit: z.number(),
        hasMore: z.boolean(),
      }),
    )
    .query(({ input }) => {
      const total = 5;
      const items = Array.from({ length: total }, (_, n) => ({ n })).slice(input.offset, input.offset + input.limit);
      return { items, total, offset: input.offset, limit: input.limit, hasMore: input.offset + items.length < total };
    }),
  item: publicProcedure
    .meta({ openapi: { method: 'GET', path: '/public/testing/items/{itemId}' }, message: 'Item fetched successfully' })
    .input(z.object({ itemId: z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'Must be a ULID') }))
    .output(z.object({ itemId: z.string() }))
    .query(({ input }) => input),
  boom: publicProcedure
    .meta({ openapi: { method: 'GET', path: '/public/testing/boom' }, message: 'Never' })
    .input(z.void())
    .output(z.object({}))
    .query(() => {
      throw new Error(SECRET_DETAIL);
    }),
  slow: publicProcedure
    .meta({ openapi: { method: 'GET', path: '/public/testing/slow' }, message: 'Slow answer' })
    .input(z.object({ ms: z.coerce.number().int().min(0).max(5000) }))
    .output(z.object({ waited: z.number() }))
    .query(async ({ input }) => {
      await new Promise((resolve) => setTimeout(resolve, input.ms));
      return { waited: input.ms };
    }),
  slowCreate: publicProcedure
    .meta({ openapi: { method: 'POST', path: '/public/testing/slow-create' }, message: 'Created slowly', status: 201 })
    .input(z.strictObject({ ms: z.number().int().min(0).max(5000), label: z.string() }))
    .output(z.object({ label: z.string(), at: z.string() }))
    .mutation(async ({ input }) => {
      await new Promise((resolve) => setTimeout(resolve, input.ms));
      return { label: input.label, at: new Date().toISOString() };
    }),
  // Holds a transaction open for `ms` between two queries, so that a test can cut its connection.
  transaction: publicProcedure
    .meta({ openapi: { method: 'POST', path: '/public/testing/transaction' }, message: 'Committed', status: 201 })
    .input(z.strictObject({ ms: z.number().int().min(0).max(5000), label: z.string() }))
    .output(z.object({ label: z.string() }))
    .mutation(async ({ ctx, input }) =>
      ctx.em.transactional(async (em) => {
        await em.execute(`select 'testing-transaction ' || ?::text`, [input.label]);
        await new Promise((resolve) => setTimeout(resolve, input.ms));
        await em.execute('select 1');
        return { label: input.label };
      }),
    ),
  // Commits a row into testing_rows (the test creates that table), then loses its own connection
  // before answering: the write happened, the caller gets 503.
  commitThenFail: publicProcedure
    .meta({ openapi: { method: 'POST', path: '/public/testing/commit-then-fail' }, message: 'Never', status: 201 })
    .input(z.strictObject({ label: z.string() }))
    .output(z.object({ label: z.string() }))
    .mutation(async ({ ctx, input }) => {
      await ctx.em.transactional((em) => em.execute('insert into testing_rows (label) values (?)', [input.label]));
      await ctx.em.execute('select pg_terminate_backend(pg_backend_pid())');
      return input;
    }),
  // Writes a row into testing_rows after `ms`, inside its transaction.
  commitSlowly: publicProcedure
    .meta({ openapi: { method: 'POST', path: '/public/testing/commit-slowly' }, message: 'Committed', status: 201 })
    .input(z.strictObject({ label: z.string(), ms: z.number().int().min(0).max(5000) }))
    .output(z.object({ label: z.string() }))
    .mutation(async ({ ctx, input }) =>
      ctx.em.transactional(async (em) => {
        await new Promise((resolve) => setTimeout(resolve, input.ms));
        await em.execute('insert into testing_rows (label) values (?)', [input.label]);
        return { label: input.label };
      }),
    ),
  boomPost: publicProcedure
    .meta({ openapi: { method: 'POST', path: '/public/testing/boom' }, message: 'Never' })
    .input(z.strictObject({}))
    .output(z.object({}))
    .mutation(() => {
      throw new Error(SECRET_DETAIL);
    }),
  limited: publicProcedure
    .meta({ openapi: { method: 'POST', path: '/public/testing/limited' }, message: 'Counted', rateLimit: ['signUp'] })
    .input(z.strictObject({}))
    .output(z.object({ ok: z.boolean() }))
    .mutation(() => ({ ok: true })),
  account: userProcedure
    .meta({
      openapi: { method: 'GET', path: '/user/testing/account' },
      message: 'Account fetched',
      scopes: ['user:read'],
    })
    .input(z.void())
    .output(z.object({ userId: z.string() }))
    .query(({ ctx }) => ({ userId: ctx.principal.userId })),
});

export const testRouter = mergeRouters(appRouter, router({ testing }));
