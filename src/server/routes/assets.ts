/**
 * `GET /assets/status.js`: the status page's only script, served from the bridge itself so the CSP
 * allows it as `script-src 'self'` and no inline script is ever needed (docs/security.md). It
 * refreshes the page in place: every few seconds it fetches `/status/live` (the same session
 * cookie) and swaps each `.live` part by id. Without JavaScript the page still works, it just does
 * not refresh.
 */
import type { FastifyPluginAsync } from 'fastify';

/** How often the status page refreshes, in milliseconds. */
export const STATUS_REFRESH_MS = 5_000;

export const STATUS_SCRIPT = `'use strict';
(function () {
  var every = ${STATUS_REFRESH_MS};
  var busy = false;
  function refresh() {
    // Live parts hold no form controls: swapping them never loses what the admin typed.
    if (busy || document.hidden) return;
    busy = true;
    fetch('/status/live', { credentials: 'same-origin', headers: { accept: 'text/html' } })
      .then(function (response) {
        if (!response.ok) throw new Error('status ' + response.status);
        return response.text();
      })
      .then(function (text) {
        var fresh = new DOMParser().parseFromString(text, 'text/html');
        fresh.querySelectorAll('.live[id]').forEach(function (part) {
          var current = document.getElementById(part.id);
          if (current) current.replaceWith(document.importNode(part, true));
        });
        document.documentElement.dataset.refreshedAt = String(Date.now());
      })
      .catch(function () {
        // Signed out or the bridge restarting: keep what is shown, try again next time.
      })
      .then(function () {
        busy = false;
      });
  }
  setInterval(refresh, every);
})();
`;

export const assetRoutes: FastifyPluginAsync = async (app) => {
  app.get('/assets/status.js', async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('Cache-Control', 'no-cache').send(STATUS_SCRIPT),
  );
};
