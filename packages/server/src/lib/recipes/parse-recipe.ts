import { looksLikeInfotext, parseA1111 } from './a1111.ts';
import { civitaiMeta, parseCivitai } from './civitai.ts';
import { isComfyPromptGraph, isComfyWorkflow, parseComfyPrompt, parseComfyWorkflow } from './comfyui.ts';
import { readImageText } from './image-text.ts';
import { isRecipeExport, parseRecipeExport } from './lora-manager.ts';
import { hasRecipe, RecipeParseError, type RecipeDraft } from './recipe-draft.ts';

/**
 * One entry point per input kind: pasted text (infotext, CivitAI JSON, ComfyUI JSON) and image bytes. Both return a
 * draft or throw RecipeParseError, never anything else, whatever the input (the fuzz tests hold them to that).
 */

/** Pasted or embedded texts longer than this are not metadata anyone wrote by hand or a tool would embed. */
export const MAX_RECIPE_TEXT = 2 * 1024 * 1024;

function parseJson(value: unknown): RecipeDraft | null {
  if (isRecipeExport(value)) return parseRecipeExport(value);
  const meta = civitaiMeta(value);
  if (meta) return parseCivitai(meta);
  if (isComfyPromptGraph(value)) return parseComfyPrompt(value);
  if (isComfyWorkflow(value)) return parseComfyWorkflow(value);
  // `{prompt: <graph>, workflow: …}` as some tools export it.
  const obj = value && typeof value === 'object' ? (value as Record<string, unknown>) : null;
  if (obj && isComfyPromptGraph(obj.prompt)) return parseComfyPrompt(obj.prompt);
  if (obj && isComfyWorkflow(obj.workflow)) return parseComfyWorkflow(obj.workflow);
  return null;
}

function tryJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** The draft in one text, or null when the text holds none. */
function draftOfText(raw: string): RecipeDraft | null {
  const text = raw.trim();
  if (text === '' || text.length > MAX_RECIPE_TEXT) return null;
  if (text.startsWith('{') || text.startsWith('[')) {
    const json = tryJson(text);
    if (json.ok) {
      const draft = parseJson(json.value);
      return draft && hasRecipe(draft) ? draft : null;
    }
  }
  const draft = parseA1111(text);
  return hasRecipe(draft) && (looksLikeInfotext(text) || draft.loras.length > 0) ? draft : null;
}

export function parseRecipeText(text: string): RecipeDraft {
  if (typeof text !== 'string' || text.trim() === '') throw new RecipeParseError('invalid_recipe_text', 'The text is empty');
  if (text.length > MAX_RECIPE_TEXT) throw new RecipeParseError('invalid_recipe_text', `The text is longer than ${MAX_RECIPE_TEXT} characters`);
  const draft = draftOfText(text);
  if (draft) return draft;
  const trimmed = text.trim();
  const found =
    trimmed.startsWith('{') && tryJson(trimmed).ok
      ? ['JSON that is neither CivitAI image metadata nor a ComfyUI prompt or workflow']
      : ['text without an A1111 parameter line (at least three "Key: value" pairs) or <lora:…> tokens'];
  throw new RecipeParseError('no_recipe', 'No recipe found in the text', found);
}

/** Which embedded texts to try, in order: the ones tools write on purpose first. */
function candidates(texts: Record<string, string>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const push = (key: string, value: string | undefined) => {
    if (value !== undefined) out.push([key, value]);
  };
  push('parameters', texts.parameters);
  push('prompt', texts.prompt);
  push('workflow', texts.workflow);
  push('UserComment', texts.UserComment);
  push('Comment', texts.Comment);
  push('Description', texts.Description);
  push('ImageDescription', texts.ImageDescription);
  // ComfyUI's WebP/JPEG saver writes `prompt:{…}` / `workflow:{…}` into the EXIF Model / Make strings.
  for (const key of ['Model', 'Make']) {
    const m = /^(prompt|workflow):(.*)$/s.exec(texts[key] ?? '');
    if (m) push(`${key} (${m[1]})`, m[2]);
  }
  return out;
}

export function parseRecipeImage(bytes: Buffer): RecipeDraft {
  const image = readImageText(bytes);
  if (!image) throw new RecipeParseError('unsupported_image', 'Not a PNG, JPEG or WebP image', [describeBytes(bytes)]);
  for (const [, value] of candidates(image.texts)) {
    const draft = draftOfText(value);
    if (draft) return draft;
  }
  const size = image.width && image.height ? ` ${image.width}x${image.height}` : '';
  const keys = Object.keys(image.texts);
  const found = [
    `${image.format.toUpperCase()} image${size}`,
    keys.length > 0 ? `metadata fields without a recipe: ${keys.slice(0, 20).join(', ')}` : 'no text metadata (parameters, prompt, workflow or EXIF UserComment)',
  ];
  throw new RecipeParseError('no_recipe', 'No generation recipe found in the image', found);
}

function describeBytes(bytes: Buffer): string {
  if (bytes.length === 0) return 'an empty file';
  return `${bytes.length} bytes starting ${bytes.subarray(0, 4).toString('hex')}`;
}
