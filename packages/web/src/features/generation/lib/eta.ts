/**
 * Time left for a running generation. The server's own ETA is used while it moves; when the server gives none, or
 * keeps repeating the same figure while steps advance (SDNext does between batches), the ETA comes from the step
 * rate this page has seen.
 */
interface Seen {
  firstStep: number;
  firstAt: number;
  lastStep: number;
  serverEta: number | null;
  /** Steps that advanced while the server's ETA stayed the same. */
  staleSteps: number;
}

export class EtaTracker {
  private readonly seen = new Map<string, Seen>();

  /** Seconds left for this job now, or null when there is nothing to go on yet. */
  observe(id: string, step: number | null, totalSteps: number | null, serverEta: number | null, now: number): number | null {
    if (step === null || !totalSteps) return serverEta;
    let s = this.seen.get(id);
    // A new batch starts its steps again: measure from there.
    if (!s || step < s.lastStep) {
      s = { firstStep: step, firstAt: now, lastStep: step, serverEta, staleSteps: 0 };
      this.seen.set(id, s);
    } else if (step > s.lastStep) {
      s.staleSteps = serverEta !== null && serverEta === s.serverEta ? s.staleSteps + (step - s.lastStep) : 0;
      s.lastStep = step;
      s.serverEta = serverEta;
    }
    const serverMoves = serverEta !== null && serverEta > 0 && s.staleSteps < 2;
    if (serverMoves) return serverEta;
    const done = step - s.firstStep;
    if (done <= 0) return serverEta !== null && serverEta > 0 ? serverEta : null;
    const perStep = (now - s.firstAt) / 1000 / done;
    return Math.max(0, (totalSteps - step) * perStep);
  }

  /** Drop jobs that are no longer running. */
  keepOnly(ids: Set<string>): void {
    for (const id of this.seen.keys()) if (!ids.has(id)) this.seen.delete(id);
  }
}
