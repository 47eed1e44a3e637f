import js from '@eslint/js';
import pluginVue from 'eslint-plugin-vue';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/*
 * Server layers (DESIGN.md section 3, ARCHITECTURE.md), enforced with `no-restricted-imports`: an import that runs up a
 * layer fails `npm run lint`. The server is organised by capability (`generation/`, `library/`, `archive/`, …), each
 * with the same layer subfolders (`routes/`, `services/`, `repositories/`, `jobs/`, `backends/`); shared
 * infrastructure sits at the top (`lib/`, `db/`, `jobs/` for the queue port, `events/`, `http/`, and `routes/`,
 * `services/`, `repositories/` for what spans capabilities). A layer's rule applies to that layer in every capability,
 * and a relative import is classified by the layer folder it lands in, whichever capability that is. Each row names
 * what a layer may NOT import; tests, benches and scripts are exempt. The contract package sits below everything and
 * is open to every layer. Import cycles, and files outside a capability's layer folders, are caught by
 * packages/server/src/architecture.test.ts.
 */
const SERVER = 'packages/server/src';
/** A relative import (any depth of ../) of one of our layer folders, at the top or inside one capability folder. */
const folder = (name) => `^\\.\\.?/(\\.\\./)*([\\w-]+/)?${name}/`;
const topFile = (name) => `^\\.\\.?/(\\.\\./)*${name}\\.(ts|js)$`;
const OURS = {
  routes: folder('routes'),
  http: folder('http'),
  services: folder('services'),
  repositories: folder('repositories'),
  backends: folder('backends'),
  jobs: folder('jobs'),
  // Job handlers live in a capability's jobs/ folder (`generation/jobs/generation.handler.ts`, `library/jobs/library.jobs.ts`).
  jobHandlers: `^\\.\\.?/(\\.\\./)*([\\w-]+/)?(jobs/)?[^/]+\\.(handler|jobs)\\.(ts|js)$`,
  jobsOtherThanPort: `${folder('jobs')}(?!job-queue\\.(ts|js)$|job-catalogue\\.(ts|js)$)`,
  events: folder('events'),
  probes: folder('probes'),
  workers: folder('workers'),
  db: folder('db'),
  lib: folder('lib'),
  cli: folder('cli'),
  app: topFile('app'),
  container: topFile('container'),
  main: topFile('main'),
  config: topFile('config'),
  errors: topFile('errors'),
};
/** The composition layer: wires everything, imported by nothing below it. */
const COMPOSITION = ['app', 'container', 'main', 'cli'];
const ABOVE_SERVICES = ['routes', 'http', ...COMPOSITION];
/** A layer folder at the top of src/ and inside every capability folder. */
const everywhere = (layer) => [`${layer}/**`, `*/${layer}/**`];

const layerRule = (files, forbidden, why) => ({
  files: files.map((f) => `${SERVER}/${f}`),
  ignores: ['**/*.test.ts'],
  rules: {
    'no-restricted-imports': ['error', { patterns: forbidden.map((name) => ({ regex: OURS[name], message: `${why} (layer rule: no ${name}).` })) }],
  },
});

const serverLayers = [
  // lib/: pure helpers; nothing of ours but lib/ (and the contract).
  layerRule(['lib/**'], Object.keys(OURS).filter((n) => n !== 'lib'), 'lib/ is pure code and imports only lib/ and the contract'),
  // db/: the Kysely database, dialects and migrations; only db/ and lib/.
  layerRule(['db/**'], Object.keys(OURS).filter((n) => !['db', 'lib'].includes(n)), 'db/ imports only db/ and lib/'),
  // repositories/: SQL only; db/, lib/, errors (and other repositories).
  layerRule(everywhere('repositories'), Object.keys(OURS).filter((n) => !['repositories', 'db', 'lib', 'errors'].includes(n)), 'repositories import only db/, lib/, errors and other repositories'),
  // backends/: generation and delivery adapters; lib/, errors and each other. Settings come in through a port they define.
  layerRule(everywhere('backends'), Object.keys(OURS).filter((n) => !['backends', 'lib', 'errors'].includes(n)), 'backends import only lib/, errors and backends/'),
  // events/, probes/, workers/: infrastructure adapters beside lib/ (event bus, health and GPU probes, reader threads).
  layerRule(['events/**', 'probes/**', 'workers/**'], Object.keys(OURS).filter((n) => !['events', 'probes', 'workers', 'lib', 'errors'].includes(n)), 'events/, probes/ and workers/ are low-level adapters: lib/ and errors only'),
  // The top jobs/ folder: the JobQueue port, catalogue and queue adapters sit under services (they record jobs through
  // the job repository and publish events).
  layerRule(['jobs/**'], ['services', 'backends', 'probes', 'workers', 'config', 'jobHandlers', ...ABOVE_SERVICES], 'the JobQueue port and its adapters sit below services'),
  // A capability's jobs/ folder: thin handlers that call one service method; wired by container.ts.
  layerRule(['*/jobs/**'], ['repositories', 'db', 'backends', 'probes', 'workers', ...ABOVE_SERVICES], 'job handlers call services and are wired by container.ts'),
  // services/: business rules; never HTTP, the composition root, or job handlers (only the JobQueue port and catalogue).
  layerRule(everywhere('services'), [...ABOVE_SERVICES, 'jobsOtherThanPort'], 'services never see HTTP or the composition root, and reach jobs only through jobs/job-queue.ts and jobs/job-catalogue.ts'),
  // http/: Fastify glue used by app.ts and routes (auth, problem+json, guards); below everything with rules in it.
  layerRule(['http/**'], Object.keys(OURS).filter((n) => !['http', 'lib', 'errors', 'config'].includes(n)), 'http/ is framework glue: lib/, errors and config only'),
  // routes/: thin; call services, never repositories, the database, the queue or adapters.
  layerRule(everywhere('routes'), ['repositories', 'db', 'jobs', 'backends', 'probes', 'workers', ...COMPOSITION], 'routes call services'),
  // config.ts and errors.ts: read by every layer, so they import only lib/.
  layerRule(['config.ts', 'errors.ts'], Object.keys(OURS).filter((n) => n !== 'lib'), 'config.ts and errors.ts are below every layer'),
  // container.ts builds services; app.ts builds the HTTP app from it; main.ts and cli/ are the entry points above both.
  layerRule(['container.ts'], ['routes', 'http', 'app', 'main', 'cli'], 'container.ts builds services, not the HTTP app or the CLI'),
  layerRule(['app.ts'], ['main', 'cli'], 'app.ts is used by main.ts and cli/, never the reverse'),
  layerRule(['cli/**'], ['main'], 'main.ts is the entry point above cli/'),
];

/*
 * config.ts is the only reader of process.env (DESIGN.md section 3): everything else gets a typed Config. Caught in
 * every spelling: `process.env`, `process['env']`, `globalThis.process.env`, `const { env } = process` and
 * `import { env } from 'node:process'`. Tests, benches and scripts are exempt.
 */
const ENV_MESSAGE = 'Only config.ts reads process.env; take the value from Config (or an argument) instead.';
const processEnvRule = {
  files: [`${SERVER}/**/*.ts`],
  ignores: [`${SERVER}/config.ts`, '**/*.test.ts'],
  rules: {
    'no-restricted-syntax': [
      'error',
      { selector: 'MemberExpression[property.name="env"]:matches([object.name="process"], [object.property.name="process"])', message: ENV_MESSAGE },
      { selector: 'MemberExpression[property.value="env"]:matches([object.name="process"], [object.property.name="process"])', message: ENV_MESSAGE },
      { selector: 'VariableDeclarator[init.name="process"] > ObjectPattern > Property[key.name="env"]', message: ENV_MESSAGE },
      { selector: 'ImportDeclaration[source.value=/^(node:)?process$/] > ImportSpecifier[imported.name="env"]', message: ENV_MESSAGE },
    ],
  },
};

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'data/**', 'test-results/**', 'playwright-report/**', '.ci-out/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...pluginVue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.vue'] } },
  },
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-empty-object-type': 'off',
      'vue/multi-word-component-names': 'off',
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/html-self-closing': 'off',
    },
  },
  {
    files: ['scripts/**', '**/bench/**', '**/cli/**', '**/*.test.ts', '**/test/**', '**/e2e/**'],
    rules: { 'no-console': 'off' },
  },
  ...serverLayers,
  processEnvRule,
);
