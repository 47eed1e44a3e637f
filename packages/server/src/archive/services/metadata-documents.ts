import type { AdapterRepository } from '../../library/repositories/adapter.repository.ts';
import type { ArchiveRepository } from '../repositories/archive.repository.ts';
import { metadataDocument } from './export-plan.ts';

/** Adapters whose metadata documents are read with one query each for rows and tags. */
const DOCUMENT_BATCH = 200;

/**
 * The adapters' metadata documents, read from the database a batch at a time as the archive reaches them: current
 * when written (not a copy from planning time), without two queries per adapter.
 */
export class MetadataDocuments {
  private readonly batchOf = new Map<string, number>();
  private readonly batches = new Map<number, Promise<Map<string, string>>>();

  constructor(
    private readonly adapters: AdapterRepository,
    private readonly archive: ArchiveRepository,
    private readonly ids: readonly string[],
  ) {
    ids.forEach((id, i) => this.batchOf.set(id, Math.floor(i / DOCUMENT_BATCH)));
  }

  /** The document of `id`, or null when the adapter is gone; each is handed out once and then forgotten. */
  async take(id: string): Promise<string | null> {
    const index = this.batchOf.get(id);
    if (index === undefined) return null;
    let batch = this.batches.get(index);
    if (!batch) {
      batch = this.load(this.ids.slice(index * DOCUMENT_BATCH, (index + 1) * DOCUMENT_BATCH));
      this.batches.set(index, batch);
      this.batches.delete(index - 1);
    }
    const documents = await batch;
    const doc = documents.get(id) ?? null;
    documents.delete(id);
    return doc;
  }

  private async load(ids: readonly string[]): Promise<Map<string, string>> {
    const [rows, tags] = await Promise.all([this.adapters.findByIds(ids), this.archive.tagRows(ids)]);
    return new Map(rows.map((row) => [row.id, metadataDocument(row, tags.get(row.id) ?? [])]));
  }
}
