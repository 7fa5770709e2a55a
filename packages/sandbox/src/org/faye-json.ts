/**
 * faye writes every Bayeux reply with `JSON.stringify` and a replacer that undoes Prototype.js's
 * `Array#toJSON` (a 2009 browser workaround). For the plain data a server sends, the output is
 * exactly `JSON.stringify`'s, but the replacer runs once per key of every change event delivered and
 * was the sandbox's costliest step while streaming a burst. This module is imported before faye,
 * and registers plain `JSON.stringify` as faye's serializer; if faye was loaded earlier in the same
 * process, nothing changes.
 */
import Module, { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const serializer = require.resolve('faye/src/util/to_json.js');
if (require.cache[serializer] === undefined) {
  const plain = new Module(serializer);
  plain.filename = serializer;
  plain.loaded = true;
  plain.exports = (object: unknown): string => JSON.stringify(object);
  require.cache[serializer] = plain;
}
