import { JOB_STATUSES, type Job, type JobListQuery, type JobStatus } from '@lora-manager/contract';
import { NotFoundError } from '../errors.ts';
import type { JobQueue } from '../jobs/job-queue.ts';
import type { JobRepository } from '../repositories/job.repository.ts';

/** Reading and cancelling background jobs of any kind. */
export class JobService {
  constructor(
    private readonly jobs: JobRepository,
    private readonly queue: JobQueue,
  ) {}

  async list(query: JobListQuery): Promise<{ items: Job[]; total: number }> {
    const statuses = (query.status ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s): s is JobStatus => (JOB_STATUSES as readonly string[]).includes(s));
    return this.jobs.list({ kind: query.kind, statuses, limit: query.limit ?? 50, offset: query.offset ?? 0 });
  }

  async get(id: string): Promise<Job> {
    const job = await this.jobs.findById(id);
    if (!job) throw new NotFoundError('job_not_found', 'Job not found');
    return job;
  }

  cancel(id: string): Promise<Job> {
    return this.queue.cancel(id);
  }
}
