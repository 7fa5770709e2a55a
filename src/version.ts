/** The bridge's version, from the package.json next to `src/` or `dist/` (both one level below it). */
import { readFileSync } from 'node:fs';

export function bridgeVersion(): string {
  try {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof manifest.version === 'string' ? manifest.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
