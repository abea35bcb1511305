/**
 * Mail in tests: a real SMTP server for a test file (the service delivers to it over SMTP, tests read
 * what arrived), and the .eml files the service writes without SMTP_URL, read as written.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { expect } from 'vitest';

export interface Inbox {
  url: string;
  messages: ParsedMail[];
  /** Waits for a message to `to` (optionally matching `subject`) and returns it. */
  waitFor(to: string, subject?: RegExp): Promise<ParsedMail>;
  /** The token in the first link of the newest message to `to`. */
  tokenFor(to: string, subject?: RegExp): Promise<string>;
  close(): Promise<void>;
}

export async function startInbox(): Promise<Inbox> {
  const messages: ParsedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream).then(
        (mail) => {
          messages.push(mail);
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as { port: number };

  const find = (to: string, subject?: RegExp) =>
    [...messages].reverse().find((m) => {
      const addresses = [m.to]
        .flat()
        .flatMap((a) => a?.value ?? [])
        .map((v) => v.address?.toLowerCase());
      return addresses.includes(to.toLowerCase()) && (!subject || subject.test(m.subject ?? ''));
    });

  const inbox: Inbox = {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    async waitFor(to, subject) {
      await expect.poll(() => find(to, subject), { timeout: 10_000, interval: 50 }).toBeDefined();
      return find(to, subject)!;
    },
    async tokenFor(to, subject) {
      const mail = await inbox.waitFor(to, subject);
      const token = /[?&]token=([A-Za-z0-9_-]+)/.exec(mail.text ?? '')?.[1];
      if (!token) throw new Error(`no token in the mail to ${to}`);
      return token;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return inbox;
}

/**
 * The links of the newest .eml file to `to` (optionally with a matching subject) in `mailDir`, read
 * from the file as written, decoding nothing: what a person copies out of it. Call it after the
 * mailer is idle (`services.mailer.idle()`), since mail is sent in the background.
 */
export async function linksInMailFile(mailDir: string, to: string, subject?: RegExp): Promise<string[]> {
  const files = (await readdir(mailDir))
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .reverse();
  for (const file of files) {
    const raw = await readFile(path.join(mailDir, file), 'utf8');
    const headers = raw.slice(0, raw.indexOf('\n\n'));
    if (!new RegExp(`^To: .*\\b${to.replace(/[.+]/g, '\\$&')}\\b`, 'im').test(headers)) continue;
    if (subject && !subject.test(/^Subject: (.*)$/im.exec(headers)?.[1] ?? '')) continue;
    return [...new Set(raw.match(/https?:\/\/[^\s"<>]+/g) ?? [])];
  }
  throw new Error(`no mail to ${to} in ${mailDir}`);
}
