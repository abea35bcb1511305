/** A URL slug from a human name: lowercase ASCII words joined by single hyphens (accents dropped). */
export function slugify(name: string, maxLength = 48): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, maxLength)
    .replace(/-+$/, '');
}
