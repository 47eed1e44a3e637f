import type {
  AnalyticsCharts,
  AnalyticsKpis,
  AnalyticsQuery,
  AnalyticsSummary,
  ErrorBreakdownEntry,
  LoraUsageList,
  LoraUsageQuery,
  PerformanceInsight,
} from '@lora-manager/contract';
import { BadRequestError } from '../../errors.ts';
import type { Clock } from '../../lib/clock.ts';
import { MAX_RANGE_MS, bucketKey, bucketStarts, customWindow, keyToIso, namedWindow, type TimeWindow } from '../../lib/time-window.ts';
import type { AnalyticsRepository, BucketTotals, KeyLength, LoraTotal } from '../repositories/analytics.repository.ts';

const TOP_LORAS = 10;
const MAX_ERROR_TYPES = 50;
/** Fewer finished generations than this say nothing about a rate or a trend: no insight is drawn from them. */
const MIN_FOR_INSIGHT = 10;
/** A slowdown smaller than this is noise, not a regression. */
const REGRESSION_PERCENT = 10;

const round2 = (n: number) => Math.round(n * 100) / 100;

interface Totals {
  finished: number;
  succeeded: number;
  failed: number;
  durationMs: number;
  durations: number;
}

function sum(rows: readonly BucketTotals[]): Totals {
  const t: Totals = { finished: 0, succeeded: 0, failed: 0, durationMs: 0, durations: 0 };
  for (const r of rows) {
    t.finished += r.finished;
    t.succeeded += r.succeeded;
    t.failed += r.failed;
    t.durationMs += r.duration_ms_sum;
    t.durations += r.duration_count;
  }
  return t;
}

const rate = (t: Totals) => (t.succeeded + t.failed > 0 ? round2((t.succeeded / (t.succeeded + t.failed)) * 100) : 0);
const avgSeconds = (t: Totals) => (t.durations > 0 ? round2(t.durationMs / t.durations / 1000) : 0);

/** One window's figures, gathered once and shaped into each route's answer. */
interface Snapshot {
  window: TimeWindow;
  current: BucketTotals[];
  cur: Totals;
  prev: Totals;
  inProgress: number;
  prevInProgress: number;
}

/**
 * The analytics routes of the original (§2.7 of the reference) over measured data: generations from the hourly
 * roll-ups, LoRA usage as recorded per generation, resource usage as sampled. Fixed against the original: every
 * bucket of a series is present, errors are grouped by normalised message, and insights need data to stand on.
 */
export class AnalyticsService {
  constructor(
    private readonly repo: AnalyticsRepository,
    private readonly clock: Clock,
  ) {}

  window(query: AnalyticsQuery): TimeWindow {
    const now = this.clock.now();
    if (query.time_range !== 'custom' && query.from === undefined && query.to === undefined) return namedWindow(query.time_range ?? '24h', now);
    if (!query.from || !query.to) throw new BadRequestError('invalid_time_range', 'A custom range needs both from and to');
    const from = new Date(query.from);
    const to = new Date(query.to);
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) throw new BadRequestError('invalid_time_range', 'from and to must be ISO-8601 times');
    if (from >= to) throw new BadRequestError('invalid_time_range', 'from must be before to');
    if (to.getTime() - from.getTime() > MAX_RANGE_MS) throw new BadRequestError('invalid_time_range', 'A custom range may span at most 366 days');
    return customWindow(from, to);
  }

  async summary(query: AnalyticsQuery): Promise<AnalyticsSummary> {
    const snap = await this.snapshot(this.window(query));
    const [counts, errors, charts] = await Promise.all([this.repo.adapterCounts(), this.errorBreakdown(snap), this.charts(snap)]);
    const kpis = this.kpis(snap, counts);
    return {
      ...windowInfo(snap.window),
      generated_at: this.clock.now().toISOString(),
      kpis,
      chart_data: charts,
      error_breakdown: errors,
      performance_insights: insightsFrom(snap, errors, counts.neverUsed, counts.total),
    };
  }

  async stats(query: AnalyticsQuery): Promise<AnalyticsKpis> {
    const [snap, counts] = await Promise.all([this.snapshot(this.window(query)), this.repo.adapterCounts()]);
    return this.kpis(snap, counts);
  }

  async errors(query: AnalyticsQuery): Promise<ErrorBreakdownEntry[]> {
    return this.errorBreakdown(await this.snapshot(this.window(query)));
  }

  async timeseries(query: AnalyticsQuery): Promise<AnalyticsCharts> {
    return this.charts(await this.snapshot(this.window(query)));
  }

  async insights(query: AnalyticsQuery): Promise<PerformanceInsight[]> {
    const snap = await this.snapshot(this.window(query));
    const [errors, counts] = await Promise.all([this.errorBreakdown(snap), this.repo.adapterCounts()]);
    return insightsFrom(snap, errors, counts.neverUsed, counts.total);
  }

  /** Per-LoRA usage: most or least used, last used, or the never-used ones (what to clean up). */
  async loraUsage(query: LoraUsageQuery): Promise<LoraUsageList> {
    const [rows, counts] = await Promise.all([
      this.repo.adapterUsage(query.sort ?? 'most_used', query.never_used === true, query.limit ?? 50),
      this.repo.adapterCounts(),
    ]);
    return {
      items: rows.map((r) => ({
        id: r.id,
        name: r.name,
        use_count: r.use_count,
        last_used_at: r.last_used_at,
        success_rate: r.use_succeeded + r.use_failed > 0 ? round2((r.use_succeeded / (r.use_succeeded + r.use_failed)) * 100) : null,
        avg_rating: r.result_rating_count > 0 ? round2(r.result_rating_sum / r.result_rating_count) : null,
        favorite_results: r.result_favorite_count,
      })),
      never_used: counts.neverUsed,
      total: counts.total,
    };
  }

  private async snapshot(window: TimeWindow): Promise<Snapshot> {
    const keyLength: KeyLength = window.unit === 'hour' ? 13 : 10;
    const lastHour = bucketKey(new Date(window.to.getTime() - 1), 'hour');
    const fromKey = bucketKey(window.from, window.unit);
    const [rows, inProgress, prevInProgress] = await Promise.all([
      // The previous window and this one in one read; split on the first bucket's key.
      this.repo.generationBuckets(bucketKey(window.previousFrom, 'hour'), lastHour, keyLength),
      this.repo.inProgress(window.from.toISOString(), window.to.toISOString()),
      this.repo.inProgress(window.previousFrom.toISOString(), window.from.toISOString()),
    ]);
    const current = rows.filter((r) => r.bucket >= fromKey);
    return { window, current, cur: sum(current), prev: sum(rows.filter((r) => r.bucket < fromKey)), inProgress, prevInProgress };
  }

  private kpis(snap: Snapshot, counts: { total: number; active: number }): AnalyticsKpis {
    const total = snap.cur.finished + snap.inProgress;
    const prevTotal = snap.prev.finished + snap.prevInProgress;
    const avg = avgSeconds(snap.cur);
    const prevAvg = avgSeconds(snap.prev);
    return {
      total_generations: total,
      generation_growth: prevTotal > 0 ? round2(((total - prevTotal) / prevTotal) * 100) : 0,
      avg_generation_time: avg,
      time_improvement: prevAvg > 0 && avg > 0 ? round2((-(avg - prevAvg) / prevAvg) * 100) : 0,
      success_rate: rate(snap.cur),
      total_failed: snap.cur.failed,
      active_loras: counts.active,
      total_loras: counts.total,
      in_progress: snap.inProgress,
    };
  }

  private async errorBreakdown(snap: Snapshot): Promise<ErrorBreakdownEntry[]> {
    if (snap.cur.failed === 0) return [];
    const w = snap.window;
    const rows = await this.repo.errors(bucketKey(w.from, 'hour'), bucketKey(new Date(w.to.getTime() - 1), 'hour'), MAX_ERROR_TYPES);
    return rows.map((r) => ({ type: r.signature, count: r.count, percentage: round2((r.count / snap.cur.failed) * 100), description: r.example }));
  }

  private async charts(snap: Snapshot): Promise<AnalyticsCharts> {
    const w = snap.window;
    const keyLength: KeyLength = w.unit === 'hour' ? 13 : 10;
    const [loras, resources] = await Promise.all([this.topLoras(w), this.repo.resourceBuckets(w.from.toISOString(), w.to.toISOString(), keyLength)]);
    const byKey = new Map(snap.current.map((r) => [r.bucket, r]));
    const generation_volume: AnalyticsCharts['generation_volume'] = [];
    const performance: AnalyticsCharts['performance'] = [];
    // Every bucket, zero-filled: a quiet hour is a 0 on the chart, not a gap that joins its neighbours.
    for (const start of bucketStarts(w)) {
      const r = byKey.get(bucketKey(start, w.unit));
      const t = sum(r ? [r] : []);
      const timestamp = start.toISOString();
      generation_volume.push({ timestamp, count: t.finished, succeeded: t.succeeded, failed: t.failed });
      performance.push({ timestamp, avg_time: avgSeconds(t), success_rate: rate(t), finished: t.finished });
    }
    return {
      generation_volume,
      performance,
      lora_usage: loras.map((l) => ({
        name: l.name,
        usage_count: l.uses,
        adapter_id: l.adapter_id,
        success_rate: l.succeeded + l.failed > 0 ? round2((l.succeeded / (l.succeeded + l.failed)) * 100) : 0,
      })),
      resource_usage: resources.map((r) => ({
        timestamp: keyToIso(r.bucket),
        cpu_percent: round2(r.cpu_percent),
        memory_percent: round2(r.memory_percent),
        gpu_percent: r.gpu_percent === null ? null : round2(r.gpu_percent),
        gpu_memory_percent: r.gpu_memory_percent === null ? null : round2(r.gpu_memory_percent),
        queue_depth: round2(r.queue_depth),
        samples: r.samples,
      })),
    };
  }

  private topLoras(w: TimeWindow): Promise<LoraTotal[]> {
    // Hour-sized windows hold few jobs: counted exactly from the jobs. Day-sized ones from the daily roll-up.
    if (w.unit === 'hour') return this.repo.topLorasBetween(w.from.toISOString(), w.to.toISOString(), TOP_LORAS);
    return this.repo.topLorasByDay(bucketKey(w.from, 'day'), bucketKey(new Date(w.to.getTime() - 1), 'day'), TOP_LORAS);
  }
}

function windowInfo(w: TimeWindow) {
  return { time_range: w.name, from: w.from.toISOString(), to: w.to.toISOString(), bucket: w.unit };
}

/** Insights the data supports; none from an empty or too small window (the original warned on an empty database). */
export function insightsFrom(snap: Snapshot, errors: readonly ErrorBreakdownEntry[], neverUsed: number, totalLoras: number): PerformanceInsight[] {
  const out: Array<Omit<PerformanceInsight, 'id'>> = [];
  const finished = snap.cur.succeeded + snap.cur.failed;
  const prevFinished = snap.prev.succeeded + snap.prev.failed;
  let performanceFlagged = false;
  if (finished >= MIN_FOR_INSIGHT) {
    const sr = rate(snap.cur);
    const prevSr = rate(snap.prev);
    if (sr < 90) {
      const declining = prevFinished >= MIN_FOR_INSIGHT && prevSr > sr;
      out.push({
        title: declining ? 'Declining success rate' : 'Low success rate',
        description: `${sr}% of ${finished} finished generations succeeded${declining ? ` (previous period: ${prevSr}%)` : ''}.`,
        severity: 'high',
        recommendation: 'review_failed_jobs',
      });
      performanceFlagged = true;
    }
    const avg = avgSeconds(snap.cur);
    const prevAvg = avgSeconds(snap.prev);
    if (snap.cur.durations >= MIN_FOR_INSIGHT && snap.prev.durations >= MIN_FOR_INSIGHT && prevAvg > 0 && ((avg - prevAvg) / prevAvg) * 100 > REGRESSION_PERCENT) {
      out.push({
        title: 'Generation time regression',
        description: `Generations took ${avg} s on average, ${round2(((avg - prevAvg) / prevAvg) * 100)}% longer than the previous period (${prevAvg} s).`,
        severity: 'medium',
        recommendation: 'investigate_performance',
      });
      performanceFlagged = true;
    }
    const top = errors[0];
    if (top && top.percentage >= 25 && top.count >= 3) {
      out.push({
        title: `Frequent error: ${top.type}`,
        description: `${top.percentage}% of failures were '${top.type}'.`,
        severity: 'medium',
        recommendation: 'analyse_error_trends',
      });
      performanceFlagged = true;
    }
    if (!performanceFlagged) {
      out.push({ title: 'Stable performance', description: `${sr}% of ${finished} finished generations succeeded.`, severity: 'low', recommendation: null });
    }
  }
  if (totalLoras > 0 && neverUsed > 0 && finished > 0) {
    out.push({
      title: 'LoRAs never used',
      description: `${neverUsed} of ${totalLoras} LoRAs have never been used in a finished generation.`,
      severity: 'low',
      recommendation: 'review_unused_loras',
    });
  }
  return out.map((insight, i) => ({ id: `insight-${i + 1}`, ...insight }));
}
