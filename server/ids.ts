import { monotonicFactory } from 'ulid';

/** ULIDs: 26 characters of Crockford base32, time-ordered even within one millisecond. */
export const newId: () => string = monotonicFactory();

export const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;
