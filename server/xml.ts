/**
 * Reading XML documents (SAML metadata and responses) with @xmldom/xmldom, in one place.
 *
 * - A document type declaration is refused before parsing: no entity of any kind is expanded.
 * - A document that is not well-formed is refused (null), never half read.
 * - The package is loaded untyped on purpose: its declarations pull the DOM library into every file of
 *   the program (its Headers, Response… then shadow Node's), for the few members read here.
 */
import { createRequire } from 'node:module';

/** The part of @xmldom/xmldom's DOM read here. */
export interface XmlElement {
  nodeType: number;
  namespaceURI: string | null;
  localName: string | null;
  textContent: string | null;
  childNodes: ArrayLike<XmlElement>;
  getAttribute(name: string): string | null;
}
type XmlErrorHandler = (message: string) => void;
interface XmlParser {
  parseFromString(source: string, mimeType: string): { documentElement: XmlElement | null } | undefined;
}
const { DOMParser } = createRequire(import.meta.url)('@xmldom/xmldom') as {
  DOMParser: new (options: {
    errorHandler: { warning: XmlErrorHandler; error: XmlErrorHandler; fatalError: XmlErrorHandler };
  }) => XmlParser;
};

export type XmlRefusal = 'doctype' | 'malformed';

/** The document's root element, or why it was refused. */
export function parseXml(source: string): { root: XmlElement } | { refused: XmlRefusal } {
  if (/<!DOCTYPE/i.test(source)) return { refused: 'doctype' };
  const problems: string[] = [];
  const report = (message: string) => problems.push(message);
  try {
    const root = new DOMParser({
      errorHandler: { warning: () => {}, error: report, fatalError: report },
    }).parseFromString(source, 'text/xml')?.documentElement;
    return root && problems.length === 0 ? { root } : { refused: 'malformed' };
  } catch {
    return { refused: 'malformed' };
  }
}

/** The child elements of `parent` named `name` in `namespace`. */
export const xmlChildren = (parent: XmlElement, namespace: string, name: string): XmlElement[] =>
  Array.from(parent.childNodes).filter(
    (node) => node.nodeType === 1 && node.namespaceURI === namespace && node.localName === name,
  );
