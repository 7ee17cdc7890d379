/** `type/subtype` of a Content-Type header, lower case, parameters (charset ...) dropped (RFC 9110 §8.3.1). */
export function mediaTypeOf(header: unknown): string | undefined {
  if (typeof header !== 'string') return undefined;
  const semi = header.indexOf(';');
  return (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
}
