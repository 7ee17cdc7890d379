// TEMPORARY (wt-dcr): exact string equality until the real RFC 4517 module (wt-dn) is merged over this file.
export function distinguishedNameMatch(a: string, b: string): boolean { return a === b; }
