/**
 * Changes per minute over the last hour as a server-side SVG bar chart: no script, no library,
 * nothing the CSP must allow (presentation attributes are not styles). The SVG stretches to its box;
 * the labels are HTML below it, so they never stretch with it.
 */
import { html, type SafeHtml } from './html.ts';

const WIDTH = 600;
const HEIGHT = 100;

export function flowChart(perMinute: readonly number[], label: string): SafeHtml {
  const peak = Math.max(0, ...perMinute);
  const slot = WIDTH / Math.max(1, perMinute.length);
  const bars = perMinute.map((count, index) => {
    if (count === 0) return html``;
    // At least 2 units tall, so a single change is visible next to a peak of thousands.
    const height = Math.max(2, (count / peak) * HEIGHT);
    return html`<rect x="${(index * slot + 1).toFixed(1)}" y="${(HEIGHT - height).toFixed(1)}" width="${(slot - 2).toFixed(1)}" height="${height.toFixed(1)}" fill="#2456d3"><title>${`${perMinute.length - 1 - index} min ago: ${count}`}</title></rect>`;
  });
  const total = perMinute.reduce((sum, n) => sum + n, 0);
  return html`<figure class="chart">
    <svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" preserveAspectRatio="none" role="img" aria-label="${label}: ${total} changes in the last hour, at most ${peak} per minute">
      <line x1="0" y1="${HEIGHT - 0.5}" x2="${WIDTH}" y2="${HEIGHT - 0.5}" stroke="#c5cbd6" stroke-width="1"/>${bars}
    </svg>
    <figcaption><span>60 min ago</span><span>changes per minute, peak ${peak}</span><span>now</span></figcaption>
  </figure>`;
}
