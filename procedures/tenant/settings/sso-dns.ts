/**
 * Domain verification by DNS: the TXT records at `_api-verification.<domain>`, through Node's own
 * resolver, or the servers DNS_SERVERS names. Nothing here throws: an unknown name, a name without
 * TXT records, a timeout or a failing server are each an outcome, for a clear refusal.
 */
import { promises as dns } from 'node:dns';

export type TxtOutcome = 'found' | 'token-not-found' | 'no-txt-record' | 'dns-unavailable';

/** Whether a TXT record at `name` holds `token` exactly (its strings joined, as RFC 7208 reads them). */
export async function findVerificationToken(
  servers: readonly string[],
  name: string,
  token: string,
): Promise<TxtOutcome> {
  // At most about 4.5 s before 'dns-unavailable': c-ares doubles the timeout for its second try.
  const resolver = new dns.Resolver({ timeout: 1500, tries: 2 });
  try {
    if (servers.length > 0) resolver.setServers(servers);
    const records = await resolver.resolveTxt(name);
    return records.some((strings) => strings.join('').trim() === token) ? 'found' : 'token-not-found';
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return code === dns.NOTFOUND || code === dns.NODATA ? 'no-txt-record' : 'dns-unavailable';
  } finally {
    resolver.cancel();
  }
}
