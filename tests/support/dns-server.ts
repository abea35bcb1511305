/**
 * A real DNS server (dns2, UDP on loopback) for domain verification tests: it answers TXT questions
 * from a map the test fills, NXDOMAIN for names it does not hold, and never answers names in
 * `silent` (a resolver's timeout). Hand it to the app as DNS_SERVERS=`${server.address}`.
 */
import dns2 from 'dns2';

const { Packet } = dns2;

export interface TestDnsServer {
  /** `127.0.0.1:<port>`, for DNS_SERVERS. */
  address: string;
  /** TXT records by name (lower case, no trailing dot); each record one or more strings. */
  txt: Map<string, string[][]>;
  /** Names whose questions get no answer at all. */
  silent: Set<string>;
  /** Every name asked, in order. */
  asked: string[];
  close(): Promise<void>;
}

export async function startDnsServer(): Promise<TestDnsServer> {
  const txt = new Map<string, string[][]>();
  const silent = new Set<string>();
  const asked: string[] = [];
  const server = dns2.createServer({
    udp: true,
    handle(request, send) {
      const response = Packet.createResponseFromRequest(request);
      const [question] = request.questions;
      const name = question?.name.toLowerCase().replace(/\.$/, '') ?? '';
      asked.push(name);
      if (silent.has(name)) return;
      const records = txt.get(name);
      if (!question || !records) {
        response.header.rcode = 3; // NXDOMAIN
      } else if (question.type === Packet.TYPE.TXT) {
        for (const strings of records) {
          response.answers.push({
            name: question.name,
            type: Packet.TYPE.TXT,
            class: Packet.CLASS.IN,
            ttl: 60,
            data: strings,
          } as never);
        }
      }
      send(response);
    },
  });
  const { udp } = await server.listen({ udp: { port: 0, address: '127.0.0.1' } });
  if (!udp) throw new Error('the DNS server did not bind its UDP port');
  return {
    address: `127.0.0.1:${udp.port}`,
    txt,
    silent,
    asked,
    close: async () => {
      await server.close();
    },
  };
}
