/**
 * Outgoing mail: nodemailer over SMTP_URL; without it each message is written as an .eml file under
 * MAIL_DIR and its first link is logged, so a newcomer can follow it.
 *
 * `send` resolves when the message is handed over; procedures use `sendInBackground` so that whether
 * an email was sent never shows in a response's timing, and a mail outage never fails a request.
 * Given a function instead of a message, it composes the message in the background too (looks the
 * recipient up, issues a token), so that a known and an unknown address answer alike in time.
 *
 * Files are for people to read: their text and HTML parts are written as they are (8bit, lines whole),
 * not quoted-printable, so that a link or token copied out of the file works. Their names sort
 * oldest first; `npm run mail:last` (mail-last.ts) prints the newest. Over SMTP nodemailer chooses
 * the encoding, as a relay may need.
 *
 * Links in mail are bearer secrets: they are logged only at debug level.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from './logger.js';

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  send(mail: Mail): Promise<void>;
  sendInBackground(mail: Mail | (() => Promise<Mail | null>)): void;
  /** Resolves when every background send started so far has finished (tests, shutdown). */
  idle(): Promise<void>;
  close(): void;
}

/** A part nodemailer writes as given: UTF-8 text, 8bit, no line folded. */
const asWritten = (contentType: string, body: string) => ({
  raw: `Content-Type: ${contentType}; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${body}`,
});

export function createMailer(options: { smtpUrl?: string; mailDir: string; from: string; log: Logger }): Mailer {
  const { smtpUrl, mailDir, from, log } = options;
  const transport: Transporter = smtpUrl
    ? nodemailer.createTransport(smtpUrl)
    : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  const pending = new Set<Promise<void>>();
  let counter = 0;

  async function send(mail: Mail): Promise<void> {
    if (smtpUrl) return void (await transport.sendMail({ from, ...mail }));
    const info = await transport.sendMail({
      from,
      to: mail.to,
      subject: mail.subject,
      alternatives: [asWritten('text/plain', mail.text), asWritten('text/html', mail.html)],
    });
    await mkdir(mailDir, { recursive: true });
    const file = path.join(
      mailDir,
      `${new Date().toISOString().replace(/[:.]/g, '-')}-${String(++counter).padStart(6, '0')}.eml`,
    );
    await writeFile(file, (info as unknown as { message: Buffer }).message);
    const link = /https?:\/\/\S+/.exec(mail.text)?.[0];
    log.info({ to: mail.to, subject: mail.subject, file }, 'SMTP_URL is unset: mail written to a file');
    if (link) log.debug({ file, link }, 'the first link of that mail');
  }

  return {
    send,
    sendInBackground(mail) {
      const sending = (async () => {
        const message = typeof mail === 'function' ? await mail() : mail;
        if (message) await send(message);
      })()
        .catch((error: unknown) =>
          log.error(
            { err: error, ...(typeof mail === 'function' ? {} : { to: mail.to, subject: mail.subject }) },
            'mail delivery failed',
          ),
        )
        .finally(() => pending.delete(sending));
      pending.add(sending);
    },
    async idle() {
      await Promise.all([...pending]);
    },
    close() {
      transport.close();
    },
  };
}
