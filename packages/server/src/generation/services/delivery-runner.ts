import { DeliveryError, type DeliveryTarget } from '../backends/delivery-target.ts';
import type { DeliveryRepository } from '../repositories/delivery.repository.ts';
import { PermanentJobError } from '../../jobs/job-queue.ts';

/** One attempt at a delivery job, as the queue hands it over. */
export interface DeliveryRun {
  jobId: string;
  /** 1 on the first run, 2 on the first retry, … */
  attempt: number;
  maxAttempts: number;
  signal: AbortSignal;
}

/**
 * Runs one delivery (http, cli). An unknown mode fails the job with the original's detail `unknown mode: <mode>`;
 * a refused request fails at once; an unreachable or failing server is retried by the queue.
 */
export class DeliveryRunner {
  private readonly targets: Map<string, DeliveryTarget>;

  constructor(
    private readonly deliveries: DeliveryRepository,
    targets: readonly DeliveryTarget[],
  ) {
    this.targets = new Map(targets.map((t) => [t.mode, t]));
  }

  async run(job: DeliveryRun): Promise<Record<string, unknown>> {
    const row = await this.deliveries.findRow(job.jobId);
    if (!row) throw new PermanentJobError('the delivery request for this job was deleted');
    const target = this.targets.get(row.mode);
    if (!target) {
      const detail = `unknown mode: ${row.mode}`;
      throw new PermanentJobError(detail, { status: 'error', detail });
    }
    const params = JSON.parse(row.params) as Record<string, unknown>;
    try {
      return await target.deliver({ id: row.id, prompt: row.prompt, params, signal: job.signal });
    } catch (error) {
      job.signal.throwIfAborted();
      if (error instanceof DeliveryError) {
        if (!error.retryable || job.attempt >= job.maxAttempts) throw new PermanentJobError(error.message, error.result);
        throw new Error(error.message);
      }
      throw error;
    }
  }
}
