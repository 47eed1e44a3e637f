#!/usr/bin/env node
// `npm test`: every suite (unit, integration on SQLite/PGlite/PostgreSQL, Redis, browser end-to-end), then one
// closing line "N passed, N failed". Suites that need a missing service skip themselves with a printed reason, and
// fail instead when REQUIRE_SERVICES=1.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const out = path.join(root, '.ci-out');
fs.mkdirSync(out, { recursive: true });
const requireServices = process.env.REQUIRE_SERVICES === '1';
const totals = { passed: 0, failed: 0, skipped: 0 };
let crashed = false;

function run(label, command, args, env = {}) {
  process.stdout.write(`\n── ${label}: ${command} ${args.join(' ')}\n`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  return result.status ?? 1;
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

// 0. Static checks count as one test each: a type error or lint error fails the run like a failing test.
for (const check of ['typecheck', 'lint']) {
  if (run(check, 'npm', ['run', '--silent', check]) === 0) totals.passed += 1;
  else totals.failed += 1;
}

// 1. Vitest: server (unit + integration) and web (components, stores).
const vitestJson = path.join(out, 'vitest.json');
fs.rmSync(vitestJson, { force: true });
const vitestStatus = run('vitest', 'npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${vitestJson}`]);
const vitest = readJson(vitestJson);
if (vitest) {
  totals.passed += vitest.numPassedTests;
  totals.failed += vitest.numFailedTests;
  totals.skipped += vitest.numPendingTests + (vitest.numTodoTests ?? 0);
  // A file that fails to load counts no tests but is a failure.
  const brokenFiles = vitest.testResults.filter((f) => f.status === 'failed' && f.assertionResults.length === 0).length;
  totals.failed += brokenFiles;
} else if (vitestStatus !== 0) {
  crashed = true;
}

// 2. End-to-end in Debian's Chromium, when the web package has browser specs.
const playwrightConfig = path.join(root, 'packages/web/playwright.config.ts');
if (fs.existsSync(playwrightConfig)) {
  const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
  if (!chromium) {
    const reason = 'Chromium is not installed (apt-get install chromium)';
    if (requireServices) {
      process.stdout.write(`\nend-to-end: ${reason} and REQUIRE_SERVICES=1\n`);
      totals.failed += 1;
    } else {
      process.stdout.write(`\nskipping end-to-end tests: ${reason}\n`);
    }
  } else {
    const e2eJson = path.join(out, 'e2e.json');
    fs.rmSync(e2eJson, { force: true });
    if (run('build web', 'npm', ['run', 'build']) !== 0) crashed = true;
    const status = run('playwright', 'npx', ['playwright', 'test', '-c', playwrightConfig, '--reporter=list,json'], {
      PLAYWRIGHT_JSON_OUTPUT_NAME: e2eJson,
      CHROMIUM_PATH: chromium,
    });
    const e2e = readJson(e2eJson);
    if (e2e?.stats) {
      totals.passed += e2e.stats.expected + (e2e.stats.flaky ?? 0);
      totals.failed += e2e.stats.unexpected;
      totals.skipped += e2e.stats.skipped;
    } else if (status !== 0) {
      crashed = true;
    }
  }
}

if (crashed) totals.failed += 1;
const ran = totals.passed + totals.failed;
process.stdout.write(`\n${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}\n`);
process.exit(totals.failed > 0 || ran === 0 ? 1 : 0);
