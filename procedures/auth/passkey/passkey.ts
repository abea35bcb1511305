/** A passkey as routes show it: never its public key or credential id. */
import { z } from 'zod';
import type { Passkey } from '../../../entities/passkey.js';
import { iso, isoOrNull, IsoDate } from '../schemas.js';

export const PasskeySummary = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: IsoDate,
  lastUsedAt: IsoDate.nullable(),
  /** `singleDevice`, or `multiDevice` for a passkey that syncs between devices. */
  deviceType: z.string(),
  backedUp: z.boolean(),
});

export function passkeySummary(
  p: Pick<Passkey, 'id' | 'name' | 'createdAt' | 'lastUsedAt' | 'deviceType' | 'backedUp'>,
): z.output<typeof PasskeySummary> {
  return {
    id: p.id,
    name: p.name,
    createdAt: iso(p.createdAt),
    lastUsedAt: isoOrNull(p.lastUsedAt),
    deviceType: p.deviceType,
    backedUp: p.backedUp,
  };
}
