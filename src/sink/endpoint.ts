/**
 * Builds CM API URLs by appending path segments to the base URL, keeping its path, as the CLI's
 * `construct_endpoint` does (docs/communications-mining.md#base-url,
 * #pitfall-1-the-base-url-loses-its-tenant-path):
 *   `https://cloud.uipath.com/org/tenant/reinfer_` + [api, v1, sources, p, s, sync]
 *   → `https://cloud.uipath.com/org/tenant/reinfer_/api/v1/sources/p/s/sync`
 * Never `new URL('/api/…', base)`: an absolute path drops `/reinfer_` and every call 404s.
 */

/** Checks the base URL once: http(s), no query or fragment. Returns it without trailing slashes. */
export function normaliseBaseUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new TypeError(`Communications Mining base URL ${JSON.stringify(baseUrl)} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError(`Communications Mining base URL must be http(s), got ${JSON.stringify(url.protocol)}`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new TypeError('Communications Mining base URL must not have a query or fragment');
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * `base` (from `normaliseBaseUrl`) + each segment URL-encoded + an optional query with repeated
 * keys (`id=a&id=b`). `.` and `..` are refused: URL parsers resolve them (even percent-encoded),
 * which would aim the request at another path.
 */
export function cmEndpoint(base: string, segments: readonly string[], query?: ReadonlyArray<[string, string]>): string {
  const path = segments
    .map((segment) => {
      if (segment === '' || segment === '.' || segment === '..') {
        throw new TypeError(`${JSON.stringify(segment)} cannot be a URL path segment (project, source or comment id)`);
      }
      return encodeURIComponent(segment);
    })
    .join('/');
  const search = query && query.length > 0 ? `?${new URLSearchParams([...query]).toString()}` : '';
  return `${base}/${path}${search}`;
}
