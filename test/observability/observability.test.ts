/**
 * deploy/observability/ holds what ops import: a Grafana dashboard and Prometheus alert rules. Every
 * metric they reference must exist in the `/metrics` of a running bridge (`sf-cm-bridge all`, real
 * process, after real traffic), and the rules must pass `promtool check rules` and their own unit
 * tests (`promtool test rules`: each alert fires on the series it is for).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startBridgeProcess, type BridgeProcess } from '../helpers/bridge-process.ts';
import { eventually, testRedis, type TestRedis } from '../helpers/redis.ts';

const DIR = new URL('../../deploy/observability/', import.meta.url).pathname;
const PROMTOOL = process.env.PROMTOOL_PATH ?? '/usr/bin/promtool';
const run = promisify(execFile);

/** Metric names an expression reads (recording rules, with a ':', are not metrics of the bridge). */
function metricsIn(expr: string): string[] {
  return expr.match(/\b(?:sfcm|process|nodejs)_[a-z0-9_]+\b/g) ?? [];
}

function dashboardExpressions(): string[] {
  const dashboard = JSON.parse(readFileSync(`${DIR}grafana-dashboard.json`, 'utf8')) as {
    panels: Array<{ targets?: Array<{ expr: string }> }>;
    templating: { list: Array<{ definition?: string }> };
  };
  return [
    ...dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr)),
    ...dashboard.templating.list.flatMap((variable) => (variable.definition ? [variable.definition] : [])),
  ];
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  annotations?: { runbook_url?: string };
}

function rules(): Rule[] {
  const file = parse(readFileSync(`${DIR}alerts.yml`, 'utf8')) as { groups: Array<{ rules: Rule[] }> };
  return file.groups.flatMap((group) => group.rules);
}

describe('deploy/observability', () => {
  let redis: TestRedis | undefined;
  let running: BridgeProcess | undefined;

  beforeAll(async () => {
    redis = testRedis();
    running = await startBridgeProcess('  url: redis://127.0.0.1:6379', redis.prefix);
  }, 90_000);
  afterAll(async () => {
    await running?.close();
    await redis?.cleanup();
  });

  it('every metric the dashboard and the alert rules read is in /metrics of a running bridge', async () => {
    const bridge = running as BridgeProcess;
    // Real traffic first: a change streamed, fetched and pushed.
    const id = String(bridge.org.store.create('Case', { Subject: 'metrics', Description: 'scrape me' }).Id);
    await eventually(() => bridge.commentText(id) === 'scrape me', 30_000, 100);
    const referenced = new Set([...dashboardExpressions(), ...rules().map((rule) => rule.expr)].flatMap(metricsIn));
    expect(referenced.size).toBeGreaterThan(15);

    // Every process reports its own metrics every 5 s: wait for the first report in the scrape.
    const exposed = await eventually(
      async () => {
        const text = await (await fetch(`${bridge.url}/metrics`)).text();
        const types = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']));
        return types.has('process_resident_memory_bytes') ? types : undefined;
      },
      20_000,
      250,
    );
    const missing = [...referenced].filter((name) => {
      if (exposed.has(name)) return false;
      const histogram = /^(.*)_(?:bucket|sum|count)$/.exec(name)?.[1];
      return !(histogram && exposed.get(histogram) === 'histogram');
    });
    expect(missing).toEqual([]);
  }, 60_000);

  it('each alert has a runbook line in docs/operations.md', () => {
    const operations = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
    const alerts = rules().filter((rule) => rule.alert);
    expect(alerts.map((rule) => rule.alert)).toEqual([
      'SfcmReplayHeadroomLow',
      'SfcmDeadLettersRising',
      'SfcmNeedsReauthorisation',
      'SfcmTargetRefusingCredentials',
      'SfcmSalesforceApiUsageHigh',
      'SfcmOldestWaitingChangeOld',
      'SfcmObjectQuiet',
    ]);
    for (const rule of alerts) {
      const alert = rule.alert ?? '';
      expect(rule.annotations?.runbook_url).toBe(`docs/operations.md#${alert.toLowerCase()}`);
      expect(operations, alert).toMatch(new RegExp(`^### ${alert}\\n\\n\\S`, 'm'));
    }
  });

  it('promtool checks the rules and runs their unit tests', async () => {
    if (!existsSync(PROMTOOL)) throw new Error(`${PROMTOOL} is missing: install Debian's prometheus (.ci/run does)`);
    const check = await run(PROMTOOL, ['check', 'rules', 'alerts.yml'], { cwd: DIR });
    expect(check.stdout).toContain('SUCCESS: 8 rules found');
    const unit = await run(PROMTOOL, ['test', 'rules', 'alerts.test.yml'], { cwd: DIR });
    expect(unit.stdout).toContain('SUCCESS');
  }, 60_000);
});
