/** The domain of an email address, lower-cased as sso_domains holds domains ('' when there is no `@`). */
export function emailDomain(email: string): string {
  const at = email.lastIndexOf('@');
  return at < 0
    ? ''
    : email
        .slice(at + 1)
        .trim()
        .toLowerCase();
}
