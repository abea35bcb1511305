/**
 * `npm run mail:last`: the newest message the service wrote as a file (SMTP_URL unset): its file,
 * date, recipient, subject and links. The folder is the service's, from the same environment:
 * MAIL_DIR, else DATA_DIR/mail (.data/mail).
 *
 * `npm run -s mail:last -- --token` prints only the token of its first link that has one, for
 * scripts: `TOKEN=$(npm run -s mail:last -- --token)`. Exits 1, saying where it looked, when there is
 * nothing to print.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { ConfigError, loadConfig, type Config } from './config.js';

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  fail(error.message);
}
const { mailDir } = config;

// The service names its files by the time they were written, so the last name is the newest.
const files = (await readdir(mailDir).catch(() => [] as string[])).filter((name) => name.endsWith('.eml')).sort();
const newest = files.at(-1);
if (!newest) fail(`No mail in ${mailDir}: the service writes mail there while SMTP_URL is unset.`);

const file = path.join(mailDir, newest);
const mail = await simpleParser(await readFile(file));
const links = [...new Set(mail.text?.match(/https?:\/\/\S+/g) ?? [])];

if (process.argv.includes('--token')) {
  const token = links
    .map((link) => (URL.canParse(link) ? new URL(link).searchParams.get('token') : null))
    .find(Boolean);
  if (!token) fail(`The newest mail (${file}) has no link with a token.`);
  process.stdout.write(`${token}\n`);
} else {
  const to = [mail.to]
    .flat()
    .map((address) => address?.text ?? '')
    .join(', ');
  process.stdout.write(
    [
      `file:    ${file}`,
      `date:    ${mail.date?.toISOString() ?? ''}`,
      `to:      ${to}`,
      `subject: ${mail.subject ?? ''}`,
      'links:',
      ...links.map((link) => `  ${link}`),
      '',
    ].join('\n'),
  );
}
