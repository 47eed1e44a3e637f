import { Type, type Static } from 'typebox';
import type { ArchiveRepository, ArchiveUnitOfWork } from '../repositories/archive.repository.ts';

/**
 * user-data.json: what a person gave the catalogue by hand — ratings, favourites and notes of LoRAs, ratings and
 * favourites of generation results — so an archive carries them even where the adapter rows are not imported (an
 * adapter already here is left as it is, but a rating it lacks can still come back).
 */
const Rating = Nullable(Type.Integer({ minimum: 0, maximum: 5 }));
function Nullable<T extends ReturnType<typeof Type.String> | ReturnType<typeof Type.Integer>>(schema: T) {
  return Type.Union([schema, Type.Null()]);
}

export const UserDataDocument = Type.Object({
  adapters: Type.Array(
    Type.Object({
      id: Type.String({ minLength: 1, maxLength: 200 }),
      name: Type.String({ maxLength: 500 }),
      version: Nullable(Type.String({ maxLength: 500 })),
      sha256: Nullable(Type.String({ maxLength: 128 })),
      favorite: Type.Boolean(),
      rating: Rating,
      notes: Nullable(Type.String({ maxLength: 100_000 })),
    }),
    { maxItems: 1_000_000 },
  ),
  results: Type.Array(
    Type.Object({
      id: Type.String({ minLength: 1, maxLength: 200 }),
      rating: Rating,
      favorite: Type.Boolean(),
      rating_updated_at: Nullable(Type.String({ maxLength: 40 })),
      favorite_updated_at: Nullable(Type.String({ maxLength: 40 })),
    }),
    { maxItems: 1_000_000 },
  ),
});
export type UserDataDocument = Static<typeof UserDataDocument>;

/** The document for these adapters and results: only the ones with something set. */
export async function userDataDocument(archive: ArchiveRepository, adapterIds: readonly string[], resultIds: readonly string[]): Promise<UserDataDocument> {
  return { adapters: await archive.adapterUserData(adapterIds), results: await archive.resultUserData(resultIds) };
}

export interface UserDataOutcome {
  applied: number;
  /** Values the archive had that differ from what the user set here, left as they are. */
  kept: number;
}

/**
 * Put the archive's user data on the adapters and results here. An archive adapter is found by the id the import gave
 * it, else by its id, else by its file's SHA-256. A value the user set here (a rating, a favourite, notes) stays unless
 * `overwrite`; an unset one takes the archive's. One transaction with the rest of the import.
 */
export async function applyUserData(
  uow: ArchiveUnitOfWork,
  doc: UserDataDocument,
  importedIds: ReadonlyMap<string, string>,
  overwrite: boolean,
  now: string,
): Promise<UserDataOutcome> {
  const outcome: UserDataOutcome = { applied: 0, kept: 0 };
  const known = await uow.archive.existingAdapterIds(doc.adapters.map((a) => importedIds.get(a.id) ?? a.id));
  const bySha = await uow.archive.adapterIdsBySha256(doc.adapters.filter((a) => a.sha256).map((a) => a.sha256!));
  const targets = doc.adapters.flatMap((a) => {
    const mapped = importedIds.get(a.id) ?? a.id;
    const id = known.has(mapped) ? mapped : a.sha256 ? bySha.get(a.sha256.toLowerCase()) : undefined;
    return id ? [{ id, source: a }] : [];
  });
  const current = new Map((await uow.archive.adaptersByIds(targets.map((t) => t.id))).map((a) => [a.id, a]));
  const updates: Parameters<ArchiveUnitOfWork['adapters']['updateMany']>[0][number][] = [];
  for (const { id, source } of targets) {
    const here = current.get(id);
    if (!here) continue;
    const changes: { favorite?: boolean; rating?: number | null; notes?: string | null } = {};
    const take = <K extends keyof typeof changes>(field: K, value: (typeof changes)[K], unset: boolean, same: boolean) => {
      if (same) return;
      if (unset || overwrite) changes[field] = value;
      else outcome.kept += 1;
    };
    if (source.favorite || overwrite) take('favorite', source.favorite, !here.favorite, here.favorite === source.favorite);
    if (source.rating !== null || overwrite) take('rating', source.rating, here.rating === null, here.rating === source.rating);
    if (source.notes || overwrite) take('notes', source.notes, !here.notes, (here.notes ?? '') === (source.notes ?? ''));
    if (Object.keys(changes).length === 0) continue;
    updates.push({ id, changes: { ...changes, updated_at: now } });
    outcome.applied += 1;
  }
  await uow.adapters.updateMany(updates);

  const results = await uow.archive.resultUserData(doc.results.map((r) => r.id));
  const resultsHere = new Map(results.map((r) => [r.id, r]));
  const existingResults = await uow.archive.existingResultIds(doc.results.map((r) => r.id));
  for (const source of doc.results) {
    if (!existingResults.has(source.id)) continue;
    const here = resultsHere.get(source.id) ?? { rating: null, favorite: false };
    const changes: { rating?: number | null; favorite?: boolean; rating_updated_at?: string | null; favorite_updated_at?: string | null } = {};
    if (here.rating !== source.rating && (source.rating !== null || overwrite)) {
      if (here.rating === null || overwrite) Object.assign(changes, { rating: source.rating, rating_updated_at: source.rating_updated_at ?? now });
      else outcome.kept += 1;
    }
    if (here.favorite !== source.favorite && (source.favorite || overwrite)) {
      if (!here.favorite || overwrite) Object.assign(changes, { favorite: source.favorite, favorite_updated_at: source.favorite_updated_at ?? now });
      else outcome.kept += 1;
    }
    if (Object.keys(changes).length === 0) continue;
    await uow.archive.setResultUserData(source.id, changes);
    outcome.applied += 1;
  }
  return outcome;
}
