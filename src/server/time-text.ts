/** Times and durations as an admin reads them: relative, with the exact time on hover. */
import { html, type SafeHtml } from './html.ts';

/** `3 s`, `4 min`, `2 h 5 min`, `3 d 4 h`. */
export function durationText(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days} d` : `${days} d ${hours % 24} h`;
}

/**
 * `<time datetime="…" title="…">5 min ago</time>`; an em dash when there is no time. Relative to
 * the render; the page's refresh renders it again (assets/status.js).
 */
export function timeAgo(when: string | number | undefined, now: number): SafeHtml {
  const ms = typeof when === 'string' ? Date.parse(when) : when;
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0) return html`—`;
  const iso = new Date(ms).toISOString();
  const seconds = (now - ms) / 1000;
  const text = seconds >= 0 ? `${durationText(seconds)} ago` : `in ${durationText(-seconds)}`;
  return html`<time datetime="${iso}" title="${iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}">${text}</time>`;
}
