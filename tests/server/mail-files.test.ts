/**
 * Mail written to files (no SMTP_URL) reads as written: a link or token copied out of the .eml file
 * works, the file is still a MIME message any mail reader decodes to the same text, and
 * `npm run mail:last` prints the newest message's subject, recipient and links.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../server/logger.js';
import { createMailer, type Mail } from '../../server/mail.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { postJson, signUp } from '../support/identity.js';
import { linksInMailFile } from '../support/mail.js';
import { PROJECT_ROOT } from '../support/processes.js';

const run = promisify(execFile);
let t: TestApp;
const dirs: string[] = [];

beforeAll(async () => {
  t = await startTestApp({ env: { RATE_LIMIT_SIGN_UP_POINTS: '100', RATE_LIMIT_EMAIL_SEND_POINTS: '100' } });
});
afterAll(async () => {
  await t?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function mailDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tenant-api-mail-test-'));
  dirs.push(dir);
  return dir;
}

/** Writes `mails` into `dir` as the service does without SMTP_URL, one after the other. */
async function writeMails(dir: string, mails: Mail[]): Promise<void> {
  const mailer = createMailer({ mailDir: dir, from: 'API <no-reply@localhost>', log: createLogger('silent') });
  for (const mail of mails) await mailer.send(mail);
  mailer.close();
}

const mail = (to: string, subject: string, link: string): Mail => ({
  to,
  subject,
  text: `Grüße from Zoë.\n\nOpen:\n${link}\n`,
  html: `<p>Grüße from Zoë.</p><p><a href="${link}">Open</a></p>`,
});

/** `npm run -s mail:last` with `env` on top of the test's environment (undefined removes one): its exit code and output. */
async function mailLast(env: Record<string, string | undefined>, args: string[] = []) {
  try {
    // Vite puts BASE_URL=/ in the test's environment: not a URL the configuration accepts.
    const { stdout, stderr } = await run('npm', ['run', '-s', 'mail:last', '--', ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, BASE_URL: undefined, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('mail files', () => {
  it('hold the token as written: the link copied from the file verifies the address', async () => {
    const user = await signUp(t, { verified: false });
    await t.services.mailer.idle();
    const links = await linksInMailFile(t.services.config.mailDir, user.email, /Verify/);
    expect(links).toHaveLength(1);
    const token = new URL(links[0]!).searchParams.get('token')!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const verified = await postJson(t, '/api/auth/verify-email', { token });
    expect(verified.status).toBe(200);
  });

  it('are MIME messages with 8bit parts that decode to the text as sent', async () => {
    const dir = mailDir();
    const link = `https://a-rather-long-host-name.example.com/reset-password?token=${'x'.repeat(43)}`;
    await writeMails(dir, [mail('zoe@example.com', 'Reset your password', link)]);
    const [file] = readdirSync(dir);
    const raw = readFileSync(path.join(dir, file!), 'utf8');
    expect(raw).not.toMatch(/quoted-printable|base64/i);
    expect(raw).toContain('Content-Transfer-Encoding: 8bit');
    expect(raw).toContain(`\n${link}\n`);
    expect(raw).toContain('Grüße from Zoë.');
    const parsed = await simpleParser(raw);
    expect(parsed.text).toBe(`Grüße from Zoë.\n\nOpen:\n${link}\n`);
    expect(parsed.html).toContain(`<a href="${link}">Open</a>`);
    expect(parsed.subject).toBe('Reset your password');
  });
});

describe('npm run mail:last', () => {
  it("prints the newest message's subject, recipient and links", async () => {
    const dir = mailDir();
    await writeMails(dir, [
      mail('old@example.com', 'Older message', 'http://localhost:3000/verify-email?token=old-token'),
      mail('ada@example.com', 'Verify your email address', 'http://localhost:3000/verify-email?token=new-token'),
    ]);
    const printed = await mailLast({ MAIL_DIR: dir });
    expect(printed.code).toBe(0);
    expect(printed.stdout).toContain('Verify your email address');
    expect(printed.stdout).toContain('ada@example.com');
    expect(printed.stdout).toContain('http://localhost:3000/verify-email?token=new-token');
    expect(printed.stdout).not.toMatch(/old-token|old@example/);

    const token = await mailLast({ MAIL_DIR: dir }, ['--token']);
    expect(token.stdout).toBe('new-token\n');
  });

  it('reads MAIL_DIR, or DATA_DIR/mail, like the service', async () => {
    const dataDir = mailDir();
    await writeMails(path.join(dataDir, 'mail'), [
      mail('grace@example.com', 'Reset your password', 'http://localhost:3000/reset-password?token=abc'),
    ]);
    const printed = await mailLast({ DATA_DIR: dataDir, MAIL_DIR: undefined });
    expect(printed.code).toBe(0);
    expect(printed.stdout).toContain('grace@example.com');
  });

  it('says where it looked when there is no mail', async () => {
    const dir = mailDir();
    const printed = await mailLast({ MAIL_DIR: dir });
    expect(printed.code).toBe(1);
    expect(printed.stderr).toContain(dir);
  });
});
