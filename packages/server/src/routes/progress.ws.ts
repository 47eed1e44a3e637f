import type { JobEvent, ServerEvent } from '@lora-manager/contract';
import type { FastifyPluginAsync } from 'fastify';
import type { WebSocket } from 'ws';
import type { EventBus } from '../events/event-bus.ts';
import type { Clock } from '../lib/clock.ts';
import { toServerEvents } from '../lib/job-events.ts';

let connections = 0;

/**
 * One client of /ws/progress. It hears every job until it subscribes to particular ids (the original SPA never
 * subscribed and still expected events); `{"type":"subscribe","job_ids":null}` goes back to everything.
 */
class ProgressConnection {
  private jobIds: Set<string> | null = null;
  private includePreviews = false;

  constructor(
    private readonly socket: WebSocket,
    private readonly clock: Clock,
  ) {}

  send(event: ServerEvent): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(event));
  }

  onJobEvent(event: JobEvent): void {
    if (this.jobIds && !this.jobIds.has(event.job.id)) return;
    for (const message of toServerEvents(event, this.now(), this.includePreviews)) this.send(message);
  }

  onMessage(raw: string): void {
    let message: { type?: unknown; job_ids?: unknown; include_previews?: unknown };
    try {
      message = JSON.parse(raw);
    } catch {
      return this.send({ type: 'error', timestamp: this.now(), data: { code: 'invalid_json', message: 'Messages must be JSON' } });
    }
    const ids = Array.isArray(message.job_ids) ? message.job_ids.filter((id): id is string => typeof id === 'string') : null;
    if (message.type === 'subscribe') {
      if (typeof message.include_previews === 'boolean') this.includePreviews = message.include_previews;
      this.jobIds = ids === null ? null : new Set([...(this.jobIds ?? []), ...ids]);
    } else if (message.type === 'unsubscribe' && this.jobIds && ids) {
      for (const id of ids) this.jobIds.delete(id);
    } else if (message.type === 'ping') {
      return this.send({ type: 'pong', timestamp: this.now(), data: {} });
    } else {
      return this.send({ type: 'error', timestamp: this.now(), data: { code: 'unknown_message', message: 'Expected subscribe, unsubscribe or ping' } });
    }
    this.send({
      type: 'subscription_confirmed',
      timestamp: this.now(),
      data: { job_ids: this.jobIds ? [...this.jobIds] : null, include_previews: this.includePreviews },
    });
  }

  private now(): string {
    return this.clock.now().toISOString();
  }
}

/** Live progress over a WebSocket at /api/v1/ws/progress (and the original's /v1/ws/progress). */
export const progressSocketRoutes: FastifyPluginAsync<{ events: EventBus; clock: Clock }> = async (app, { events, clock }) => {
  const handler = (socket: WebSocket) => {
    connections += 1;
    const connection = new ProgressConnection(socket, clock);
    const offJobs = events.subscribe('jobs', (event) => connection.onJobEvent(event as JobEvent));
    const offSystem = events.subscribe('system', (data) => connection.send({ type: 'system_status', timestamp: clock.now().toISOString(), data }));
    socket.on('message', (data) => connection.onMessage(data.toString()));
    socket.on('close', () => {
      offJobs();
      offSystem();
    });
    connection.send({
      type: 'connected',
      timestamp: clock.now().toISOString(),
      data: { connection_id: `conn_${connections}_${Math.floor(clock.now().getTime() / 1000)}`, message: 'Connected to progress monitoring' },
    });
  };
  app.get('/api/v1/ws/progress', { websocket: true, schema: { hide: true } }, handler);
  app.get('/v1/ws/progress', { websocket: true, schema: { hide: true } }, handler);
};
