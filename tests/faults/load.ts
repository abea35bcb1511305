/**
 * Bounded mixed load for the fault suite, and what it observed.
 *
 * - A client-side load balancer over the instances in rotation: round robin, and a connection that
 *   is refused (nothing was sent) is tried on the next instance, as a balancer does with new
 *   connections. Every other network-level failure (a reset, a hang-up, a timeout) is recorded.
 * - A fixed number of clients, each signed up once from an address of its own (X-Forwarded-For,
 *   the instances trust loopback proxies); every other one verifies its address with the emailed
 *   token and creates a personal access token, and calls with that key instead of its session.
 *   Then each loops over: create a project with a unique name, list its projects, GET /api/user/me,
 *   GET /api/public/health, one request at a time.
 * - Every answer is kept with when it started and ended, so each phase can be judged afterwards.
 */
import { randomBytes } from 'node:crypto';
import { tokenFromMail } from './mail-files.js';
import type { ServiceInstance } from '../support/processes.js';

/** The origin every instance trusts for cookie-authenticated writes (their common BASE_URL). */
export const PUBLIC_ORIGIN = 'http://localhost:3000';
export const PASSWORD = 'fault injection passphrase 42';
const REQUEST_TIMEOUT_MS = 20_000;

export type RequestKind =
  | 'sign-up'
  | 'organizations'
  | 'verify-email'
  | 'api-key'
  | 'create'
  | 'list'
  | 'me'
  | 'health';

export interface Outcome {
  kind: RequestKind;
  /** The instance that answered (or failed). */
  instance: string;
  startedAt: number;
  endedAt: number;
  /** Absent when the request failed at the network level. */
  status?: number;
  body?: any;
  networkError?: string;
  /** For creates: the project's unique name. */
  projectName?: string;
}

export interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function networkErrorOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if ((error as Error).name === 'TimeoutError') return 'timeout';
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

function isConnectionRefused(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string; errors?: { code?: string }[] } }).cause;
  return cause?.code === 'ECONNREFUSED' || (cause?.errors ?? []).some((e) => e.code === 'ECONNREFUSED');
}

async function readReply(response: Response): Promise<Reply> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body };
}

/** Round robin over the instances in rotation; refused connections move on to the next one. */
export class Balancer {
  private readonly members: ServiceInstance[] = [];
  private turn = 0;
  /** Connections refused and sent elsewhere, per instance name. */
  readonly rerouted = new Map<string, number>();

  constructor(instances: ServiceInstance[]) {
    this.members.push(...instances);
  }

  /** Takes an instance out of rotation: no new request is sent to it. */
  remove(instance: ServiceInstance): void {
    const index = this.members.indexOf(instance);
    if (index >= 0) this.members.splice(index, 1);
  }

  add(instance: ServiceInstance): void {
    if (!this.members.includes(instance)) this.members.push(instance);
  }

  get inRotation(): readonly ServiceInstance[] {
    return this.members;
  }

  /** Sends the request; resolves with the answer and who gave it, or rejects with the network error and who failed. */
  async send(path: string, init: RequestInit): Promise<{ instance: ServiceInstance; reply: Reply }> {
    const tried = new Set<ServiceInstance>();
    for (;;) {
      const candidates = this.members.filter((m) => !tried.has(m));
      if (candidates.length === 0)
        throw Object.assign(new Error('no instance accepted the connection'), { instance: [...tried].at(-1) });
      const instance = candidates[this.turn++ % candidates.length]!;
      tried.add(instance);
      try {
        const response = await fetch(`${instance.url}${path}`, {
          ...init,
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        return { instance, reply: await readReply(response) };
      } catch (error) {
        if (isConnectionRefused(error)) {
          this.rerouted.set(instance.name, (this.rerouted.get(instance.name) ?? 0) + 1);
          continue;
        }
        throw Object.assign(error as Error, { instance });
      }
    }
  }
}

export interface Identity {
  ip: string;
  email: string;
  cookie: string;
  organizationId: string;
  /** When set, the client calls with this personal access token rather than its session. */
  apiKey?: string;
}

/** An answer that counts as full service: 2xx, and health reporting every dependency ok. */
export function isHealthy(outcome: Outcome): boolean {
  if (outcome.status === undefined || outcome.status < 200 || outcome.status >= 300) return false;
  return outcome.kind !== 'health' || outcome.body?.data?.status === 'ok';
}

/** The 503 envelope an unreachable database must give. */
export function isUnavailableEnvelope(outcome: Outcome): boolean {
  return outcome.status === 503 && outcome.body?.success === false && outcome.body?.code === 'SERVICE_UNAVAILABLE';
}

/** One line per kind of outcome, e.g. "b create 503 SERVICE_UNAVAILABLE: The database is unreachable…". */
export function describeOutcome(outcome: Outcome): string {
  const what =
    outcome.status === undefined
      ? `network error ${outcome.networkError}`
      : `${outcome.status} ${outcome.body?.code ?? ''}${outcome.status >= 400 ? `: ${String(outcome.body?.message ?? outcome.body).slice(0, 120)}` : ''}`;
  return `${outcome.instance} ${outcome.kind} ${what}`.trim();
}

/** Counts of each described outcome, for readable assertion failures. */
export function tally(outcomes: Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) {
    const line = describeOutcome(outcome);
    counts[line] = (counts[line] ?? 0) + 1;
  }
  return counts;
}

const CYCLE: RequestKind[] = ['create', 'list', 'me', 'health', 'create', 'list', 'me'];

export class Load {
  readonly outcomes: Outcome[] = [];
  private readonly inFlight = new Set<{ startedAt: number }>();
  private readonly identities: Identity[] = [];
  private readonly runId = randomBytes(4).toString('hex');
  private running = false;
  private loops: Promise<void>[] = [];

  private readonly balancer: Balancer;
  private readonly options: { clients: number; mailDir: string };

  constructor(balancer: Balancer, options: { clients: number; mailDir: string }) {
    this.balancer = balancer;
    this.options = options;
  }

  /** The prefix of every project name this load creates. */
  get projectPrefix(): string {
    return `fault-${this.runId}-`;
  }

  /** A client's address, session and organization, for requests the suite sends itself. */
  clientIdentity(index: number): Identity {
    const identity = this.identities[index];
    if (!identity) throw new Error(`the load has no client ${index}`);
    return identity;
  }

  /** One credential of the load, for checks that need a real account. */
  get someAccount(): { email: string; password: string } {
    const identity = this.identities[0];
    if (!identity) throw new Error('the load has not signed up yet');
    return { email: identity.email, password: PASSWORD };
  }

  private async request(kind: RequestKind, path: string, init: RequestInit, projectName?: string): Promise<Outcome> {
    const marker = { startedAt: Date.now() };
    this.inFlight.add(marker);
    const outcome: Outcome = { kind, instance: '?', startedAt: marker.startedAt, endedAt: 0, projectName };
    try {
      const { instance, reply } = await this.balancer.send(path, init);
      outcome.instance = instance.name;
      outcome.status = reply.status;
      outcome.body = reply.body;
      if (kind === 'sign-up')
        outcome.body = {
          ...reply.body,
          cookie: reply.headers
            .getSetCookie()
            .find((c) => c.startsWith('session='))
            ?.split(';')[0],
        };
    } catch (error) {
      outcome.instance = (error as { instance?: ServiceInstance }).instance?.name ?? '?';
      outcome.networkError = networkErrorOf(error);
    } finally {
      outcome.endedAt = Date.now();
      this.inFlight.delete(marker);
      this.outcomes.push(outcome);
    }
    return outcome;
  }

  private headers(identity: Pick<Identity, 'ip'> & Partial<Identity>): Record<string, string> {
    const credential: Record<string, string> = identity.apiKey
      ? { 'x-api-key': identity.apiKey }
      : identity.cookie
        ? { cookie: identity.cookie }
        : {};
    return { 'content-type': 'application/json', origin: PUBLIC_ORIGIN, 'x-forwarded-for': identity.ip, ...credential };
  }

  /** A step of the preparation, which runs before any fault: it must succeed. */
  private async expectStep(kind: RequestKind, path: string, init: RequestInit, status: number): Promise<any> {
    const outcome = await this.request(kind, path, init);
    if (outcome.status !== status)
      throw new Error(`${kind} answered ${describeOutcome(outcome)} ${JSON.stringify(outcome.body)}`);
    return outcome.body;
  }

  /** Adds an outcome observed outside the loops (a request the suite sent itself). */
  record(outcome: Outcome): void {
    this.outcomes.push(outcome);
  }

  /** Signs every client up, finds its organization, and gives every other client a personal access token. */
  async prepare(): Promise<void> {
    await Promise.all(Array.from({ length: this.options.clients }, (_, index) => this.prepareClient(index)));
  }

  private async prepareClient(index: number): Promise<void> {
    const ip = `10.77.${Math.floor(index / 250)}.${(index % 250) + 1}`;
    const email = `fault-${this.runId}-${index}@example.com`;
    const signUp = {
      method: 'POST',
      headers: this.headers({ ip }),
      body: JSON.stringify({ email, password: PASSWORD, name: `Fault client ${index}` }),
    };
    const signedUp = await this.expectStep('sign-up', '/api/auth/sign-up/email', signUp, 201);
    const identity: Identity = { ip, email, cookie: signedUp.cookie, organizationId: '' };
    const organizations = await this.expectStep(
      'organizations',
      '/api/user/organizations',
      { headers: this.headers(identity) },
      200,
    );
    identity.organizationId = organizations.data?.[0]?.id;
    if (index % 2 === 1) {
      const token = await tokenFromMail(this.options.mailDir, email);
      await this.expectStep(
        'verify-email',
        '/api/auth/verify-email',
        { method: 'POST', headers: this.headers({ ip }), body: JSON.stringify({ token }) },
        200,
      );
      const created = await this.expectStep(
        'api-key',
        '/api/auth/api-key/create',
        {
          method: 'POST',
          headers: this.headers(identity),
          body: JSON.stringify({
            name: 'fault load',
            scopes: ['user:read', 'projects:read', 'projects:write'],
            organizationId: identity.organizationId,
            password: PASSWORD,
          }),
        },
        200,
      );
      identity.apiKey = created.data?.key;
    }
    this.identities[index] = identity;
  }

  /** Starts every client's loop. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loops = this.identities.map((identity, index) => this.loop(identity, index));
  }

  /** Stops the loops and waits for their last requests. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(identity: Identity, index: number): Promise<void> {
    let step = index;
    while (this.running) {
      const kind = CYCLE[step++ % CYCLE.length]!;
      const base = `/api/user/organizations/${identity.organizationId}/projects`;
      if (kind === 'create') {
        const name = `${this.projectPrefix}${index}-${step}`;
        await this.request(
          kind,
          base,
          { method: 'POST', headers: this.headers(identity), body: JSON.stringify({ name }) },
          name,
        );
      } else if (kind === 'list') {
        await this.request(kind, `${base}?limit=5`, { headers: this.headers(identity) });
      } else if (kind === 'me') {
        await this.request(kind, '/api/user/me', { headers: this.headers(identity) });
      } else {
        await this.request(kind, '/api/public/health', { headers: this.headers(identity) });
      }
    }
  }

  /** Outcomes of the requests started in [from, to), once every one of them has ended. */
  async startedBetween(from: number, to: number): Promise<Outcome[]> {
    while ([...this.inFlight].some((request) => request.startedAt < to)) await sleep(50);
    return this.outcomes.filter((o) => o.startedAt >= from && o.startedAt < to);
  }

  /**
   * Waits until the service has recovered from a fault that ended at `faultEndedAt`: healthy answers
   * from every instance in rotation for `streakMs` after the last unhealthy one; gives up `boundMs`
   * plus a margin after the fault. Returns when the last unhealthy request started, relative to the
   * fault's end (0 if there was none), from the complete record, and the healthy answers after it.
   */
  async awaitRecovery(
    faultEndedAt: number,
    boundMs: number,
    streakMs = 2000,
  ): Promise<{ recoveryMs: number; healthyAfter: number; unhealthy: Outcome[] }> {
    const giveUpAt = faultEndedAt + boundMs + streakMs + 1000;
    for (;;) {
      const now = Date.now();
      const since = this.outcomes.filter((o) => o.startedAt >= faultEndedAt);
      const lastUnhealthy = Math.max(faultEndedAt, ...since.filter((o) => !isHealthy(o)).map((o) => o.startedAt));
      const streak = since.filter((o) => o.startedAt > lastUnhealthy);
      const everyInstanceAnswered = this.balancer.inRotation.every((instance) =>
        streak.some((o) => o.instance === instance.name),
      );
      if ((now - lastUnhealthy >= streakMs && everyInstanceAnswered) || now >= giveUpAt) break;
      await sleep(200);
    }
    const settled = await this.startedBetween(faultEndedAt, Date.now());
    const unhealthy = settled.filter((o) => !isHealthy(o));
    const lastUnhealthy = Math.max(faultEndedAt, ...unhealthy.map((o) => o.startedAt));
    return {
      recoveryMs: lastUnhealthy - faultEndedAt,
      healthyAfter: settled.filter((o) => o.startedAt > lastUnhealthy && isHealthy(o)).length,
      unhealthy,
    };
  }
}
