import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { ImageFormat } from '../../lib/recipes/image-text.ts';
import { RECIPE_PREVIEW_DIR, RECIPE_PREVIEW_FILE, recipePreviewContentType, recipePreviewFile } from '../../lib/recipes/preview-file.ts';

/**
 * Recipe preview images under DATA_DIR/recipes, named by the recipe id we generated (never a client's file name), so a
 * path can only ever point inside that folder.
 */
export class RecipePreviewStore {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, RECIPE_PREVIEW_DIR);
  }

  /** Write atomically (temp file + rename): a crash leaves the old preview or the new one, never half a file. */
  async write(recipeId: string, data: Buffer, format: ImageFormat): Promise<{ file: string; contentType: string }> {
    await fsp.mkdir(this.dir, { recursive: true });
    const file = recipePreviewFile(recipeId, format);
    if (!file) throw new Error(`unsafe recipe id ${recipeId}`);
    const temp = path.join(this.dir, `.${randomUUID()}.tmp`);
    await fsp.writeFile(temp, data);
    await fsp.rename(temp, path.join(this.dir, file));
    return { file, contentType: recipePreviewContentType(file) as string };
  }

  /** The absolute path of a stored preview; null when the name is not one of ours. */
  pathOf(file: string): string | null {
    if (!RECIPE_PREVIEW_FILE.test(file)) return null;
    return path.join(this.dir, file);
  }

  async read(file: string): Promise<Buffer | null> {
    const p = this.pathOf(file);
    if (!p) return null;
    try {
      return await fsp.readFile(p);
    } catch {
      return null;
    }
  }

  async remove(file: string | null): Promise<void> {
    const p = file ? this.pathOf(file) : null;
    if (p) await fsp.rm(p, { force: true });
  }
}
