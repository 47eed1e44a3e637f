import type { ImageFormat } from './image-text.ts';

/** The folder in DATA_DIR that holds recipe previews. */
export const RECIPE_PREVIEW_DIR = 'recipes';

/**
 * How a recipe's preview is named in DATA_DIR/recipes: the recipe id we generated and the image's extension. Never a
 * client's file name, so the name alone confines the file to that folder; the archive export and import check the
 * same pattern before they read or write one.
 */
export const RECIPE_PREVIEW_FILE = /^[A-Za-z0-9-]{1,100}\.(png|jpg|webp)$/;

/** The preview file name of a recipe; null for an id that could not be a file name of ours. */
export function recipePreviewFile(recipeId: string, format: ImageFormat): string | null {
  const file = `${recipeId}.${format === 'jpeg' ? 'jpg' : format}`;
  return RECIPE_PREVIEW_FILE.test(file) ? file : null;
}

const CONTENT_TYPES: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', webp: 'image/webp' };

/** The content type a preview is served with, from its own name (never from what an archive or a client claims). */
export function recipePreviewContentType(file: string): string | null {
  return RECIPE_PREVIEW_FILE.test(file) ? (CONTENT_TYPES[file.slice(file.lastIndexOf('.') + 1)] ?? null) : null;
}
