import { z } from 'zod';

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

function isLocale(value: string): boolean {
  try {
    return Intl.getCanonicalLocales(value).length === 1;
  } catch {
    return false;
  }
}

const Domain = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'Must be a domain like example.com');

export const SettingsOutput = z.object({
  timezone: z.string(),
  locale: z.string(),
  allowedEmailDomains: z.array(z.string()),
});

export const SettingsChanges = z.strictObject({
  timezone: z.string().refine(isTimeZone, 'Must be an IANA time zone such as Europe/Paris').optional(),
  locale: z.string().refine(isLocale, 'Must be a language tag such as en-US').optional(),
  allowedEmailDomains: z.array(Domain).max(50, 'At most 50 domains').optional(),
});
