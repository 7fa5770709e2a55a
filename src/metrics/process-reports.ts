/**
 * Every process (api, subscriber, worker, all) reports its own Node.js metrics (prom-client's
 * default `process_*` / `nodejs_*` set, plus `sfcm_build_info`) to Redis every few seconds, in one
 * hash field per process. The api's `/metrics` renders every fresh report, each series labelled with
 * the process's `role` and `instance`, so one scrape shows every process of the deployment, as it
 * does for the counters (docs/runtime.md, "Metrics of every process"). The same report is the
 * process's heartbeat: `sf-cm-bridge health` checks that a process of its host reported recently.
 */
import { hostname } from 'node:os';
import type { RedisClient } from '../store/redis.ts';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { bridgeKeys } from '../store/keys.ts';
import { bridgeVersion } from '../version.ts';

/** How often a process reports. */
export const REPORT_EVERY_MS = 5_000;
/** A report older than this is from a process that stopped or hangs: not rendered, not healthy. */
export const REPORT_STALE_MS = 3 * REPORT_EVERY_MS;

/** The Redis hash of the reports (field: instance), in the deployment-wide slot. */
export function processReportsKey(prefix: string): string {
  return bridgeKeys(prefix).processReports();
}

/** A metric as a report carries it: prom-client's `getMetricsAsJSON()`, as JSON keeps it. */
export interface ReportedMetric {
  name: string;
  help: string;
  type: string;
  values: Array<{
    value: number;
    labels: Partial<Record<string, string | number>>;
    /** The series name where it differs from the metric's (a histogram's `_bucket`, `_sum`, `_count`). */
    metricName?: string;
  }>;
}

export interface ProcessReport {
  /** The command the process runs: api, subscriber, worker or all. */
  role: string;
  /** Host name (the pod or container) and process id. */
  instance: string;
  host: string;
  /** Epoch ms of the report, by the reporting host's clock. */
  at: number;
  metrics: ReportedMetric[];
}

export class ProcessReporter {
  readonly #registry = new Registry();
  readonly #host = hostname();
  readonly #instance = `${this.#host}:${process.pid}`;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly role: string,
    private readonly everyMs = REPORT_EVERY_MS,
  ) {
    collectDefaultMetrics({ register: this.#registry });
    new Gauge({
      name: 'sfcm_build_info',
      help: 'Always 1: the bridge version and the Node.js version of the process',
      labelNames: ['version', 'node'],
      registers: [this.#registry],
    }).set({ version: bridgeVersion(), node: process.version }, 1);
  }

  /** Report now, then every interval until close. */
  async start(): Promise<void> {
    await this.report();
    this.#timer = setInterval(() => void this.report(), this.everyMs);
    this.#timer.unref();
  }

  async report(): Promise<void> {
    const report: ProcessReport = {
      role: this.role,
      instance: this.#instance,
      host: this.#host,
      at: Date.now(),
      // prom-client types `type` as an enum, but it is the text format's word ('gauge', 'histogram').
      metrics: (await this.#registry.getMetricsAsJSON()).map(({ name, help, type, values }) => ({
        name,
        help,
        type: String(type),
        values,
      })),
    };
    // Redis unreachable: the next report tries again; a missed one only ages the heartbeat.
    await this.redis.hset(this.key, this.#instance, JSON.stringify(report)).catch(() => undefined);
  }

  /** Stop reporting and remove this process's report: a stopped process is not shown as stale. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.redis.hdel(this.key, this.#instance).catch(() => undefined);
  }
}

/** Every fresh report; reports gone stale are deleted (their processes stopped without closing). */
export async function readProcessReports(redis: RedisClient, key: string, now = Date.now()): Promise<ProcessReport[]> {
  const fields = await redis.hgetall(key);
  const fresh: ProcessReport[] = [];
  const stale: string[] = [];
  for (const [instance, text] of Object.entries(fields)) {
    const report = parseReport(text);
    if (report && now - report.at <= REPORT_STALE_MS) fresh.push(report);
    else stale.push(instance);
  }
  if (stale.length > 0) await redis.hdel(key, ...stale);
  return fresh.sort((a, b) => a.role.localeCompare(b.role) || a.instance.localeCompare(b.instance));
}

function parseReport(text: string): ProcessReport | undefined {
  try {
    const report = JSON.parse(text) as Partial<ProcessReport>;
    if (typeof report.role !== 'string' || typeof report.instance !== 'string') return undefined;
    if (typeof report.at !== 'number' || !Array.isArray(report.metrics)) return undefined;
    return report as ProcessReport;
  } catch {
    return undefined;
  }
}

/**
 * The reports in Prometheus text format: each metric's HELP and TYPE once, then its series from
 * every process with `role` and `instance` added to their labels.
 */
export function renderProcessReports(reports: readonly ProcessReport[]): string {
  const byName = new Map<string, { help: string; type: string; lines: string[] }>();
  for (const report of reports) {
    for (const metric of report.metrics) {
      let entry = byName.get(metric.name);
      if (!entry) byName.set(metric.name, (entry = { help: metric.help, type: metric.type, lines: [] }));
      for (const value of metric.values) {
        const labels = { ...value.labels, role: report.role, instance: report.instance };
        const name = value.metricName ?? metric.name;
        entry.lines.push(`${name}{${renderLabels(labels)}} ${formatValue(value.value)}`);
      }
    }
  }
  const out: string[] = [];
  for (const [name, { help, type, lines }] of byName)
    out.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`, ...lines);
  return out.length > 0 ? `${out.join('\n')}\n` : '';
}

export function renderLabels(labels: Partial<Record<string, string | number>>): string {
  return Object.entries(labels)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}="${escapeLabel(String(value))}"`)
    .join(',');
}

function escapeLabel(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}

function escapeHelp(help: string): string {
  return help.replaceAll('\\', '\\\\').replaceAll('\n', '\\n');
}

/** Prometheus spells the non-finite values +Inf, -Inf and NaN. */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
