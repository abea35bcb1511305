/** Every entity the ORM knows, one file per aggregate. */
export const entities = [];
