import { createHash } from 'node:crypto';
import type { GeneratedLora } from './recommend-library.ts';

/**
 * The baselines bench:recommend compares against: random, most-used, and the original's deterministic fallback
 * encoder (§3.15): template payloads ("Trained on: … | Triggers: …", "Art style: …", "SD Version: …"), tokens
 * `\b\w+\b` hashed with md5 into a fixed dimension, L2-normalised, dot products weighted 0.6/0.3/0.1 (similar) or
 * 0.5/0.35/0.15 (prompt), pairs of different SD versions dropped; by-trigger exact hits at confidence 0.2, then
 * hashed-vector neighbours of the trigger phrases.
 */

const ART_WORDS = ['style', 'art', 'anime', 'realistic', 'character', 'portrait', 'landscape', 'fantasy', 'sci-fi', 'concept', 'illustration', 'digital', 'painting', 'drawing', 'sketch', '3d', 'render'];

function hashed(text: string, dim: number): Float32Array {
  const v = new Float32Array(dim);
  for (const token of text.toLowerCase().match(/\b\w+\b/g) ?? []) {
    const h = createHash('md5').update(token).digest();
    // int(md5, 16) mod dim: the low bytes decide for a power-of-two-free dim only approximately; good enough here.
    v[h.readUInt32BE(12) % dim] += 1;
  }
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n);
  if (n > 0) for (let i = 0; i < dim; i++) v[i] /= n;
  return v;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

const semanticText = (l: GeneratedLora) => [`Trained on: ${l.trained_words.join(', ')}`, `Triggers: ${l.triggers.join(', ')}`].join(' | ');
const artisticText = (l: GeneratedLora) => `Art style: ${l.tags.filter((t) => ART_WORDS.some((w) => t.toLowerCase().includes(w))).join(', ')}`;
const technicalText = (l: GeneratedLora) => `SD Version: ${l.sd_version} | Safety: Safe | Model size: Small`;
const normaliseTrigger = (t: string) => t.normalize('NFKC').toLowerCase().replace(/[^a-z0-9\s]/g, ' ').replace(/\s+/g, ' ').trim();

export class OriginalHashedMethod {
  private readonly sem: Float32Array[];
  private readonly art: Float32Array[];
  private readonly tech: Float32Array[];
  private readonly byId = new Map<string, number>();
  private readonly exact = new Map<string, Set<number>>();
  private readonly triggerVectors: Array<{ index: number; v: Float32Array }> = [];

  constructor(private readonly loras: readonly GeneratedLora[]) {
    this.sem = loras.map((l) => hashed(semanticText(l), 768));
    this.art = loras.map((l) => hashed(artisticText(l), 384));
    this.tech = loras.map((l) => hashed(technicalText(l), 768));
    loras.forEach((l, i) => {
      this.byId.set(l.id, i);
      for (const t of [...l.triggers, ...l.trained_words].map(normaliseTrigger).filter((t) => t.length >= 2)) {
        (this.exact.get(t) ?? this.exact.set(t, new Set()).get(t)!).add(i);
        this.triggerVectors.push({ index: i, v: hashed(t, 384) });
      }
    });
  }

  similar(id: string, limit: number): string[] {
    const t = this.byId.get(id)!;
    const target = this.loras[t];
    const scored: Array<[number, number]> = [];
    for (let i = 0; i < this.loras.length; i++) {
      if (i === t) continue;
      const combined = 0.6 * dot(this.sem[t], this.sem[i]) + 0.3 * dot(this.art[t], this.art[i]) + 0.1 * dot(this.tech[t], this.tech[i]);
      scored.push([i, combined]);
    }
    scored.sort((a, b) => b[1] - a[1]);
    return scored
      .slice(0, limit * 4)
      .filter(([i]) => this.loras[i].sd_version === target.sd_version)
      .filter(([, s]) => s >= 0.1)
      .slice(0, limit)
      .map(([i]) => this.loras[i].id);
  }

  forPrompt(prompt: string, limit: number): string[] {
    const s = hashed(prompt, 768);
    const a = hashed(prompt, 384);
    const scored: Array<[number, number]> = [];
    for (let i = 0; i < this.loras.length; i++) scored.push([i, 0.5 * dot(s, this.sem[i]) + 0.35 * dot(a, this.art[i]) + 0.15 * dot(s, this.tech[i])]);
    return scored
      .sort((x, y) => y[1] - x[1])
      .slice(0, limit)
      .map(([i]) => this.loras[i].id);
  }

  byTrigger(query: string, limit: number): string[] {
    const q = normaliseTrigger(query);
    const best = new Map<number, number>();
    for (const part of [q, ...q.split(' ').filter((w) => w.length >= 2)]) for (const i of this.exact.get(part) ?? []) best.set(i, Math.max(best.get(i) ?? 0, 0.2));
    if (best.size < limit) {
      const qv = hashed(q, 384);
      const near = this.triggerVectors.map(({ index, v }) => [index, dot(qv, v)] as const).filter(([, s]) => s > 0);
      near.sort((x, y) => y[1] - x[1]);
      for (const [i, s] of near.slice(0, 100)) if (!best.has(i) || best.get(i)! < s) best.set(i, s);
    }
    return [...best]
      .sort((x, y) => y[1] - x[1])
      .slice(0, limit)
      .map(([i]) => this.loras[i].id);
  }
}

export function randomMethod(loras: readonly GeneratedLora[], seed: number): (exclude: string, limit: number) => string[] {
  let s = seed;
  return (exclude, limit) => {
    const out: string[] = [];
    while (out.length < limit) {
      s = (s * 1664525 + 1013904223) >>> 0;
      const l = loras[s % loras.length];
      if (l.id !== exclude && !out.includes(l.id)) out.push(l.id);
    }
    return out;
  };
}

export function mostUsedMethod(loras: readonly GeneratedLora[]): (exclude: string, limit: number) => string[] {
  const ranked = [...loras].sort((a, b) => b.uses - a.uses).map((l) => l.id);
  return (exclude, limit) => ranked.filter((id) => id !== exclude).slice(0, limit);
}
