/**
 * The allowed dependency directions between the folders of src/ (docs/ARCHITECTURE.md).
 * `npm run lint:deps` checks them, and that there are no import cycles.
 */
const folder = (name) => `^src/${name}/`;
/** Every stage folder below the composition root. */
const STAGES = [
  'model',
  'config',
  'salesforce',
  'store',
  'queue',
  'auth',
  'metrics',
  'pipeline',
  'sink',
  'subscriber',
  'worker',
  'reconcile',
  'server',
];
/** Folder → the folders it may import from (besides itself and the shared root modules). */
const allowed = {
  model: [],
  config: [],
  salesforce: ['model', 'config'],
  store: ['model', 'config'],
  metrics: ['store'],
  queue: ['model', 'store', 'config', 'salesforce'],
  auth: ['salesforce', 'store', 'config', 'queue'],
  pipeline: ['model', 'config', 'salesforce'],
  sink: ['model', 'store'],
  subscriber: ['model', 'config', 'salesforce', 'store', 'queue', 'auth', 'metrics'],
  worker: ['model', 'config', 'salesforce', 'store', 'queue', 'auth', 'metrics', 'pipeline', 'sink'],
  reconcile: ['model', 'config', 'salesforce', 'store', 'queue', 'auth', 'metrics', 'pipeline'],
  server: ['model', 'config', 'salesforce', 'store', 'queue', 'auth', 'metrics', 'pipeline', 'sink', 'reconcile'],
  // The composition root and the command line sit on top: they may import every stage below them.
  roles: STAGES,
  cli: [...STAGES, 'roles'],
};
const folders = Object.keys(allowed);

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles make the order of initialisation and the direction of knowledge unclear.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    ...folders.map((name) => ({
      name: `${name}-direction`,
      severity: 'error',
      comment: `src/${name}/ may import only from: ${allowed[name].join(', ') || 'nothing else in src/'} (and the root modules).`,
      from: { path: folder(name) },
      to: { path: `^src/(${folders.filter((other) => other !== name && !allowed[name].includes(other)).join('|')})/` },
    })),
    {
      name: 'root-modules-are-leaves',
      severity: 'error',
      comment:
        'src/*.ts (errors, logging, shutdown) are shared by every stage and import no stage but config (the secrets to redact).',
      from: { path: '^src/[^/]+\\.ts$' },
      to: { path: '^src/(?!config/)[^/]+/' },
    },
    {
      name: 'no-test-code-in-src',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^src/sandbox/' },
  },
};
