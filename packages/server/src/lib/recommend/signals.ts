/**
 * What the recommendations learn from use: LoRAs generated together (weighted by how the user rated the result),
 * feedback on earlier suggestions, and stated preferences. Built from plain rows, so it is pure and testable; the
 * service loads the rows and caches one Signals per change of the history or the feedback.
 */

export type FeedbackType = 'positive' | 'negative' | 'activated' | 'ignored' | 'dismissed';
export type PreferenceType = 'archetype' | 'style' | 'technical' | 'author' | 'tag';

export interface UsageRow {
  /** Adapters of one generation, in prompt order. */
  adapterIds: readonly string[];
  rating: number | null;
  favorite: boolean;
}

export interface FeedbackRow {
  /** What the suggestion answered (see contextKey); null when the session is gone. */
  context: string | null;
  adapterId: string;
  type: FeedbackType;
}

export interface Preference {
  type: PreferenceType;
  /** Lower-cased, trimmed. */
  value: string;
  /** 0–1; above 0.5 is a liking, below a dislike. */
  confidence: number;
}

/** How much one feedback of each kind moves an adapter, in its context and everywhere. */
const FEEDBACK_WEIGHT: Record<FeedbackType, number> = { positive: 1, activated: 0.7, ignored: -0.1, negative: -1.5, dismissed: -0.5 };

/** Which generations tell most: the ones the user rated well or kept. */
function usageWeight(row: UsageRow): number {
  let w = 1;
  if (row.rating !== null && row.rating >= 4) w = 2;
  else if (row.rating !== null && row.rating > 0 && row.rating <= 2) w = 0.25;
  return row.favorite ? w + 1 : w;
}

export function contextKey(kind: 'similar' | 'for_prompt' | 'by_trigger', subject: string): string {
  return `${kind}:${subject.trim().toLowerCase().replace(/\s+/g, ' ').slice(0, 500)}`;
}

export class Signals {
  private readonly coUse = new Map<string, Map<string, number>>();
  /** Generations an adapter was used in (the "most used" baseline, and a tie-breaker). */
  readonly uses = new Map<string, number>();
  private readonly global = new Map<string, number>();
  private readonly byContext = new Map<string, Map<string, number>>();
  private readonly dismissed = new Map<string, Set<string>>();

  constructor(
    usage: Iterable<UsageRow> = [],
    feedback: Iterable<FeedbackRow> = [],
    readonly preferences: readonly Preference[] = [],
  ) {
    for (const row of usage) {
      const ids = [...new Set(row.adapterIds)];
      for (const id of ids) this.uses.set(id, (this.uses.get(id) ?? 0) + 1);
      if (ids.length < 2 || ids.length > 20) continue;
      const w = usageWeight(row);
      for (const a of ids) {
        let partners = this.coUse.get(a);
        if (!partners) this.coUse.set(a, (partners = new Map()));
        for (const b of ids) if (a !== b) partners.set(b, (partners.get(b) ?? 0) + w);
      }
    }
    for (const f of feedback) {
      const w = FEEDBACK_WEIGHT[f.type];
      this.global.set(f.adapterId, (this.global.get(f.adapterId) ?? 0) + w);
      if (!f.context) continue;
      let scores = this.byContext.get(f.context);
      if (!scores) this.byContext.set(f.context, (scores = new Map()));
      scores.set(f.adapterId, (scores.get(f.adapterId) ?? 0) + w);
      if (f.type === 'dismissed') {
        let set = this.dismissed.get(f.context);
        if (!set) this.dismissed.set(f.context, (set = new Set()));
        set.add(f.adapterId);
      }
    }
  }

  static readonly empty = new Signals();

  /** Adapters generated together with `id`, and how strongly (rating-weighted generations). */
  partners(id: string): ReadonlyMap<string, number> {
    return this.coUse.get(id) ?? new Map();
  }

  coUsage(a: string, b: string): number {
    return this.coUse.get(a)?.get(b) ?? 0;
  }

  /** Feedback score of an adapter in this context and overall; dismissed in this context means do not suggest it here. */
  feedback(context: string | null, id: string): { context: number; global: number; dismissed: boolean } {
    return {
      context: context ? (this.byContext.get(context)?.get(id) ?? 0) : 0,
      global: this.global.get(id) ?? 0,
      dismissed: context ? (this.dismissed.get(context)?.has(id) ?? false) : false,
    };
  }

  /** Adapters liked in this context: candidates even when their content alone would not bring them. */
  likedIn(context: string): string[] {
    return [...(this.byContext.get(context) ?? [])].filter(([, s]) => s > 0).map(([id]) => id);
  }
}
