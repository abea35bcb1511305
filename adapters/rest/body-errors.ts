/** Errors from reading a request body (body-parser's), as API errors. */
import { ApiError } from '../../server/errors.js';

/** body-parser's errors, by their `type`. */
export function bodyError(error: unknown): ApiError | undefined {
  const type = (error as { type?: unknown } | null)?.type;
  switch (type) {
    case 'entity.too.large':
      return new ApiError('PAYLOAD_TOO_LARGE', 'The request body exceeds 10 MiB');
    case 'entity.parse.failed':
      return new ApiError('BAD_REQUEST', 'The request body is not valid JSON');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiError('UNSUPPORTED_MEDIA_TYPE', 'The request body must be UTF-8 JSON');
    case 'request.aborted':
    case 'request.size.invalid':
      return new ApiError('BAD_REQUEST', 'The request body could not be read');
    default:
      return undefined;
  }
}
