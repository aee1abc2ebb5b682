/** One link of an HTTP `Link` header (RFC 8288). */
export interface WebLink {
  /** The target as written between `<` and `>` (resolve it against the request URL). */
  readonly target: string;
  /** Parameters, names lower-cased; `rel` keeps its space-separated values. */
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Parses `Link` header values (several headers joined with `,` are fine): commas inside `<...>` and
 * quoted strings do not split links; quoted values are unquoted (`\"` escapes). Malformed links are
 * skipped rather than guessed at.
 */
export function parseLinkHeader(value: string): WebLink[] {
  const links: WebLink[] = [];
  let i = 0;
  const n = value.length;
  const skipWs = (): void => {
    while (i < n && /[\s]/.test(value[i] as string)) i++;
  };
  while (i < n) {
    skipWs();
    if (value[i] === ',') {
      i++;
      continue;
    }
    if (value[i] !== '<') {
      // Not a link: skip to the next comma outside quotes.
      let quoted = false;
      while (i < n && (quoted || value[i] !== ',')) {
        if (value[i] === '"') quoted = !quoted;
        else if (value[i] === '\\' && quoted) i++;
        i++;
      }
      continue;
    }
    const end = value.indexOf('>', i + 1);
    if (end < 0) break;
    const target = value.slice(i + 1, end).trim();
    i = end + 1;
    const params: Record<string, string> = {};
    let ok = true;
    for (;;) {
      skipWs();
      if (i >= n || value[i] === ',') break;
      if (value[i] !== ';') {
        ok = false;
        break;
      }
      i++;
      skipWs();
      const nameStart = i;
      while (i < n && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(value[i] as string)) i++;
      const name = value.slice(nameStart, i).toLowerCase();
      skipWs();
      let v = '';
      if (value[i] === '=') {
        i++;
        skipWs();
        if (value[i] === '"') {
          i++;
          while (i < n && value[i] !== '"') {
            if (value[i] === '\\' && i + 1 < n) i++;
            v += value[i];
            i++;
          }
          i++;
        } else {
          const s = i;
          while (i < n && value[i] !== ';' && value[i] !== ',') i++;
          v = value.slice(s, i).trim();
        }
      }
      if (name === '') {
        ok = false;
        break;
      }
      // RFC 8288 §3: only the first occurrence of a parameter counts.
      if (!(name in params)) params[name] = v;
    }
    if (!ok) {
      while (i < n && value[i] !== ',') i++;
      continue;
    }
    links.push({ target, params });
  }
  return links;
}

/** The target of the first link whose `rel` (space-separated, case-insensitive) includes `rel`, resolved against `base`. */
export function findLink(headerValue: string | null, rel: string, base: string): URL | undefined {
  if (headerValue === null) return undefined;
  const want = rel.toLowerCase();
  for (const link of parseLinkHeader(headerValue)) {
    const rels = (link.params.rel ?? '').toLowerCase().split(/\s+/);
    if (!rels.includes(want)) continue;
    try {
      return new URL(link.target, base);
    } catch {
      return undefined;
    }
  }
  return undefined;
}
