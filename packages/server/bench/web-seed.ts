import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Container } from '../src/container.ts';

/**
 * A realistic catalogue written straight through the repository (the HTTP API would take minutes for 10,000):
 * varied names, tags, base models, ratings, favourites, NSFW levels, trigger words and kohya tag frequencies.
 * Shared by the web benchmark and the browser tests' big-library server.
 */
const WORDS = ['ink', 'neon', 'watercolor', 'cyber', 'retro', 'anime', 'film', 'noir', 'pastel', 'gothic', 'steam', 'pixel', 'oil', 'chalk', 'glitch', 'vapor', 'paper', 'clay', 'mecha', 'forest'];
const TAGS = ['style', 'character', 'concept', 'anime', 'realistic', 'clothing', 'background', 'pose', 'photography', 'fantasy', 'sci-fi', 'portrait', 'landscape', 'vehicle', 'architecture', 'animal', 'food', 'horror', 'cute', 'lighting'];
const BASES = ['SD 1.5', 'SDXL 1.0', 'Pony', 'Flux.1 D', 'Illustrious'];
const TYPES = ['lora', 'lora', 'lora', 'locon', 'lokr', 'loha'];
const NSFW = [1, 1, 1, 1, 2, 2, 4, 8, 16];

function rng(seed: number) {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

export async function seedAdapters(container: Container, libraryDir: string, count: number): Promise<void> {
  const repo = container.repositories.adapters;
  const random = rng(7);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)];
  const base = Date.parse('2025-01-01T00:00:00Z');
  for (let done = 0; done < count; done += 2000) {
    await repo.transaction(async (trx) => {
      for (let i = done; i < Math.min(count, done + 2000); i++) {
        const name = `${pick(WORDS)} ${pick(WORDS)} ${String(i).padStart(5, '0')}`;
        const tags = [...new Set(Array.from({ length: 1 + Math.floor(random() * 4) }, () => pick(TAGS)))];
        const created = new Date(base + Math.floor(random() * 300 * 86_400_000)).toISOString();
        const trigger = `${pick(WORDS)}_${i % 997}`;
        await trx.insert(
          {
            id: randomUUID(),
            name,
            version: `v${1 + (i % 3)}.0`,
            file_path: path.join(libraryDir, `${name.replace(/ /g, '_')}.safetensors`),
            description: `A ${pick(WORDS)} LoRA trained on ${pick(WORDS)} images.`,
            trained_words: [trigger],
            triggers: [trigger],
            primary_file_size_kb: 9_000 + Math.floor(random() * 800_000),
            base_model: pick(BASES),
            network_type: pick(TYPES),
            nsfw_level: pick(NSFW),
            favorite: random() < 0.05,
            active: random() < 0.002,
            rating: random() < 0.3 ? 1 + Math.floor(random() * 5) : null,
            extra: { ss_tag_frequency: { [`10_${trigger}`]: { [trigger]: 40, [pick(WORDS)]: 12, [pick(TAGS)]: 7 } } },
            created_at: created,
            updated_at: created,
          },
          tags,
        );
      }
    });
  }
}
