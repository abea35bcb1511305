import { z } from 'zod';
import { authProcedure } from '../../../server/trpc.js';
import { findConnection } from './connection.js';
import { serviceProviderMetadata } from './saml.js';

const MetadataDocument = z
  .custom<AsyncIterable<string>>(
    (value) => typeof (value as AsyncIterable<string>)?.[Symbol.asyncIterator] === 'function',
  )
  .meta({ override: { type: 'string', description: 'The XML document' } });

/**
 * GET /api/auth/sso/{providerId}/metadata: our SAML service provider metadata for one connection (entity
 * id = this URL, the ACS, signed assertions wanted), for its identity provider's admin to import. Public
 * and stable: it depends only on the connection id and BASE_URL. An unknown id or an OpenID Connect
 * connection is 404.
 */
export const ssoSpMetadata = authProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/auth/sso/{providerId}/metadata',
      tags: ['sso'],
      summary: 'SAML service provider metadata of an SSO connection',
      description:
        'The XML document (application/samlmetadata+xml) to import at the identity provider; its URL is also our ' +
        'SP entity id (audience).',
    },
    message: 'SAML service provider metadata',
    stream: ['application/samlmetadata+xml'],
    errors: ['NOT_FOUND'],
  })
  .input(z.strictObject({ providerId: z.string().max(64) }))
  .output(z.object({ filename: z.string(), contentType: z.string(), lines: MetadataDocument }))
  .query(async ({ ctx, input }) => {
    const connection = await findConnection(ctx, input.providerId, 'saml');
    const xml = serviceProviderMetadata(ctx.services.config, connection);
    return {
      filename: `sp-metadata-${connection.id}.xml`,
      contentType: 'application/samlmetadata+xml',
      lines: (async function* () {
        yield xml;
      })(),
    };
  });
