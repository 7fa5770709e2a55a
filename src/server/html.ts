/** Server-rendered HTML for the bridge's few pages: escaped by construction, no front-end build. */
import { createHash } from 'node:crypto';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** A piece of HTML that is already safe to embed. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

/** Tagged template: interpolated values are escaped unless they are SafeHtml (or arrays of it). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, index) => {
    out += render(value) + (strings[index + 1] ?? '');
  });
  return new SafeHtml(out);
}

function render(value: unknown): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(
    typeof value === 'string' ? value : typeof value === 'bigint' ? value.toString() : JSON.stringify(value),
  );
}

const STYLE = `
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#1d2433;background:#f6f7f9}
main{max-width:980px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 16px} h2{font-size:18px;margin:0 0 8px}
.card{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:16px 20px;margin:0 0 16px}
.notice{padding:12px 16px;border-radius:6px;margin:0 0 16px}
.ok{background:#e7f6ec;border:1px solid #9fd8b1} .error{background:#fdecec;border:1px solid #f0a8a8}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:13px;font-weight:600}
.authorized{background:#e7f6ec;color:#17693a} .needs_reauth{background:#fff3d6;color:#8a5a00} .unauthorized{background:#eceef2;color:#4a5263}
table{border-collapse:collapse;width:100%;font-size:14px} th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eceef2}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:8px 0} dt{color:#5b6475}
a.button,button{display:inline-block;background:#2456d3;color:#fff;border:0;border-radius:6px;padding:7px 14px;text-decoration:none;font-size:14px;cursor:pointer}
input,select{font-size:15px;padding:6px 8px;border:1px solid #c5cbd6;border-radius:6px;max-width:100%;box-sizing:border-box}
input{width:320px} input.short{width:170px}
dd,td,th,p,li,h1,h2,h3{overflow-wrap:anywhere} pre{white-space:pre-wrap;overflow-wrap:anywhere}
h3{font-size:16px;margin:0 0 6px} .muted{color:#5b6475;font-size:13px;font-weight:400}
button.danger{background:#b42318} button.secondary,a.secondary{background:#eceef2;color:#1d2433}
.objects{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:12px;margin:12px 0}
.object{border:1px solid #eceef2;border-radius:6px;padding:10px 12px;min-width:0}
progress{max-width:100%;vertical-align:middle} dd{min-width:0} figure.chart{margin:0} svg.chart{display:block;width:100%;height:64px;background:#f6f7f9}
figcaption{display:flex;justify-content:space-between;gap:8px;font-size:12px;color:#5b6475}
.actions{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center;margin:12px 0 4px} .actions form{margin:0}
form.filters{display:flex;flex-wrap:wrap;gap:8px;align-items:end}
nav.pages{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
@media (max-width:640px){main{padding:12px} .card{padding:12px} table,thead,tbody,tr,th,td{display:block} thead{display:none} tr{border-bottom:1px solid #dde1e8;padding:6px 0} td{border:0;padding:2px 0} dl{grid-template-columns:1fr;gap:0} dd{margin:0 0 6px}}
`;

/** The CSP source of the one inline stylesheet: pages carry no other inline code (docs/security.md). */
export const STYLE_SOURCE = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

/** A whole page; `script` is the path of a script the bridge serves itself (CSP `script-src 'self'`). */
export function page(title: string, body: SafeHtml, options: { script?: string } = {}): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title} · sf-cm-bridge</title><style>${new SafeHtml(STYLE)}</style>${options.script ? html`<script src="${options.script}" defer></script>` : ''}</head>
<body><main>${body}</main></body></html>`.value;
}
