/**
 * Reads the mail the instances wrote as .eml files (MAIL_DIR, no SMTP_URL), so that the load's
 * clients can verify their address the way a user does: with the token from the emailed link.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleParser } from 'mailparser';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The token in the newest mail to `to` whose link carries one; waits up to `timeoutMs` for it. */
export async function tokenFromMail(mailDir: string, to: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const files = (await readdir(mailDir).catch(() => [] as string[]))
      .filter((f) => f.endsWith('.eml'))
      .sort()
      .reverse();
    for (const file of files) {
      const mail = await simpleParser(await readFile(path.join(mailDir, file)));
      const recipients = [mail.to]
        .flat()
        .flatMap((a) => a?.value ?? [])
        .map((v) => v.address?.toLowerCase());
      if (!recipients.includes(to.toLowerCase())) continue;
      const token = /[?&]token=([A-Za-z0-9_-]+)/.exec(mail.text ?? '')?.[1];
      if (token) return token;
    }
    await sleep(100);
  }
  throw new Error(`no mail with a token to ${to} in ${mailDir} within ${timeoutMs} ms`);
}
