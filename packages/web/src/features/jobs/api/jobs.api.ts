import type { Job } from '@lora-manager/contract';
import type { ApiClient } from '../../../api/client.ts';

/** Statuses of a job that is still going. */
export const RUNNING_STATUSES = 'pending,running,retrying';

/** The jobs API, for the tray: the running jobs of every kind, one job, cancelling one. */
export function jobsApi(api: ApiClient) {
  return {
    running: () => api.get<{ items: Job[]; total: number }>('jobs', { status: RUNNING_STATUSES, limit: 100 }),
    job: (id: string) => api.get<{ job: Job }>(`jobs/${encodeURIComponent(id)}`),
    cancel: (id: string) => api.post<{ job: Job }>(`jobs/${encodeURIComponent(id)}/cancel`),
  };
}
