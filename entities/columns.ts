/** Column shapes shared by every entity. */
export const idColumn = { type: 'string', columnType: 'char(26)', primary: true } as const;
export const timestamp = { type: 'Date', columnType: 'timestamptz' } as const;
export const optionalTimestamp = { type: 'Date', columnType: 'timestamptz', nullable: true } as const;
/** A foreign key kept as the referenced id (mapToPk), removed with its owner. */
export const ownedBy = (entity: string) =>
  ({ kind: 'm:1', entity, mapToPk: true, deleteRule: 'cascade', index: true }) as const;
/** An optional reference kept as the referenced id (mapToPk), cleared when the referenced row is deleted. */
export const clearedWith = (entity: string, fieldName: string) =>
  ({ kind: 'm:1', entity, mapToPk: true, nullable: true, deleteRule: 'set null', fieldName }) as const;
