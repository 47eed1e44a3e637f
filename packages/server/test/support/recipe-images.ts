/**
 * A corpus of images carrying recipes the way real tools write them: A1111 / Forge / SDNext infotext in PNG tEXt and
 * iTXt, JPEG and WebP EXIF UserComment (UTF-16 both byte orders, ASCII), a ComfyUI API graph with a chain of five
 * LoRAs, a ComfyUI UI workflow, and CivitAI image metadata JSON. Written by code, so tests state what they expect.
 */
import sharp from 'sharp';
import { formatInfotext } from '../../src/lib/infotext.ts';
import { withTextChunk } from '../../src/lib/png.ts';

export async function plainPng(width = 16, height = 16, shade = 40): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: shade, g: 90, b: 140 } } }).png({ compressionLevel: 1 }).toBuffer();
}

export async function pngWithText(entries: Record<string, string>): Promise<Buffer> {
  let png = await plainPng();
  for (const [key, value] of Object.entries(entries)) png = withTextChunk(png, key, value);
  return png;
}

export type CommentEncoding = 'unicode-be' | 'unicode-le' | 'ascii';

/** A TIFF (EXIF) block with an Exif IFD holding UserComment, as piexif writes it. */
export function exifWithUserComment(text: string, encoding: CommentEncoding = 'unicode-be', order: 'II' | 'MM' = 'II'): Buffer {
  let body: Buffer;
  if (encoding === 'ascii') body = Buffer.concat([Buffer.from('ASCII\0\0\0', 'latin1'), Buffer.from(text, 'utf8')]);
  else {
    const le = Buffer.from(text, 'utf16le');
    body = Buffer.concat([Buffer.from('UNICODE\0', 'latin1'), encoding === 'unicode-le' ? le : Buffer.from(le).swap16()]);
  }
  const le = order === 'II';
  const buf = Buffer.alloc(8 + 18 + 18 + body.length);
  const w16 = (v: number, o: number) => (le ? buf.writeUInt16LE(v, o) : buf.writeUInt16BE(v, o));
  const w32 = (v: number, o: number) => (le ? buf.writeUInt32LE(v, o) : buf.writeUInt32BE(v, o));
  buf.write(order, 0, 'latin1');
  w16(42, 2);
  w32(8, 4);
  // IFD0: one entry, the Exif IFD pointer.
  w16(1, 8);
  w16(0x8769, 10);
  w16(4, 12);
  w32(1, 14);
  w32(26, 18);
  w32(0, 22);
  // Exif IFD: UserComment (UNDEFINED), value after the IFD.
  w16(1, 26);
  w16(0x9286, 28);
  w16(7, 30);
  w32(body.length, 32);
  w32(44, 36);
  w32(0, 40);
  body.copy(buf, 44);
  return buf;
}

export async function jpegWithComment(text: string, encoding: CommentEncoding = 'unicode-be', order: 'II' | 'MM' = 'II'): Promise<Buffer> {
  const jpeg = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#446688' } }).jpeg().toBuffer();
  const exif = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), exifWithUserComment(text, encoding, order)]);
  const segment = Buffer.alloc(4);
  segment.writeUInt16BE(0xffe1, 0);
  segment.writeUInt16BE(exif.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), segment, exif, jpeg.subarray(2)]);
}

function riffChunk(fourcc: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.write(fourcc, 0, 'latin1');
  head.writeUInt32LE(data.length, 4);
  return Buffer.concat([head, data, data.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0)]);
}

/** An extended (VP8X) WebP with an EXIF chunk. */
export async function webpWithComment(text: string, encoding: CommentEncoding = 'unicode-be'): Promise<Buffer> {
  const webp = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#886644' } }).webp().toBuffer();
  const image = webp.subarray(12); // the VP8 / VP8L chunk(s) of the simple format
  const vp8x = Buffer.alloc(10);
  vp8x[0] = 0x08; // EXIF present
  vp8x.writeUIntLE(15, 4, 3);
  vp8x.writeUIntLE(15, 7, 3);
  const body = Buffer.concat([Buffer.from('WEBP', 'latin1'), riffChunk('VP8X', vp8x), image, riffChunk('EXIF', exifWithUserComment(text, encoding))]);
  const head = Buffer.alloc(8);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body]);
}

/** A1111 / Forge infotext with two LoRAs (one with separate TE/UNet weights), hires and ADetailer fields. */
export function a1111Infotext(loras: Array<{ name: string; weight: number; hash: string }>, extra: Array<[string, string | number]> = []): string {
  const tokens = loras.map((l) => `<lora:${l.name}:${l.weight}>`).join(' ');
  return formatInfotext(`masterpiece, a red fox in the snow, ${tokens}`, 'lowres, blurry', [
    ['Steps', 28],
    ['Sampler', 'DPM++ 2M'],
    ['Schedule type', 'Karras'],
    ['CFG scale', 6.5],
    ['Seed', 1234567890],
    ['Size', '832x1216'],
    ['Model hash', '6ce0161689'],
    ['Model', 'ponyDiffusionV6XL'],
    ['Denoising strength', 0.4],
    ['Clip skip', 2],
    ['Hires upscale', 1.5],
    ['Hires steps', 12],
    ['Hires upscaler', '4x-UltraSharp'],
    ['ADetailer model', 'face_yolov8n.pt'],
    ['ADetailer confidence', 0.3],
    ['Lora hashes', loras.map((l) => `${l.name}: ${l.hash}`).join(', ')],
    ['TI hashes', 'easynegative: c74b4e810b'],
    ...extra,
    ['Version', 'v1.10.1'],
  ]);
}

/** SDNext: always a negative line, `LoRA networks` / `LoRA hashes` positional with 8-char hashes. */
export function sdnextInfotext(loras: Array<{ name: string; weight: number; hash8: string }>): string {
  return [
    `portrait of a knight <${loras.map((l) => `lora:${l.name}:${l.weight}`).join('> <')}>`,
    'Negative prompt: ',
    formatInfotextLine([
      ['Steps', 20],
      ['Sampler', 'Euler a'],
      ['CFG scale', 7],
      ['Seed', 42],
      ['Size', '512x768'],
      ['Model', 'sd15'],
      ['LoRA networks', loras.map((l) => l.name).join(', ')],
      ['LoRA hashes', loras.map((l) => l.hash8).join(', ')],
      ['App', 'SD.Next'],
    ]),
  ].join('\n');
}

function formatInfotextLine(pairs: Array<[string, string | number]>): string {
  return formatInfotext('x', null, pairs).split('\n').pop() as string;
}

/** ComfyUI API graph: checkpoint → five chained LoraLoaders → KSampler, CLIPSetLastLayer, EmptyLatentImage. */
export function comfyPromptGraph(loras: Array<{ file: string; model: number; clip: number }>): Record<string, unknown> {
  const graph: Record<string, unknown> = {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sdxl/juggernautXL_v9.safetensors' } },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: 1024, height: 768, batch_size: 1 } },
    '11': { class_type: 'CLIPSetLastLayer', inputs: { stop_at_clip_layer: -2, clip: ['4', 1] } },
  };
  let model: [string, number] = ['4', 0];
  let clip: [string, number] = ['11', 0];
  loras.forEach((l, i) => {
    const id = String(20 + i);
    graph[id] = { class_type: 'LoraLoader', inputs: { lora_name: l.file, strength_model: l.model, strength_clip: l.clip, model, clip } };
    model = [id, 0];
    clip = [id, 1];
  });
  graph['6'] = { class_type: 'CLIPTextEncode', inputs: { text: 'a lighthouse at dusk, volumetric light', clip } };
  graph['7'] = { class_type: 'CLIPTextEncode', inputs: { text: 'text, watermark', clip } };
  graph['3'] = {
    class_type: 'KSampler',
    inputs: { seed: 8675309, steps: 30, cfg: 5.5, sampler_name: 'dpmpp_2m', scheduler: 'karras', denoise: 1, model, positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0] },
  };
  graph['8'] = { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } };
  graph['9'] = { class_type: 'SaveImage', inputs: { images: ['8', 0], filename_prefix: 'ComfyUI' } };
  return graph;
}

export function comfyWorkflow(): Record<string, unknown> {
  return {
    last_node_id: 9,
    nodes: [
      { id: 4, type: 'CheckpointLoaderSimple', mode: 0, widgets_values: ['v1-5-pruned-emaonly.safetensors'] },
      { id: 5, type: 'EmptyLatentImage', mode: 0, widgets_values: [512, 512, 1] },
      { id: 6, type: 'CLIPTextEncode', mode: 0, widgets_values: ['a castle on a hill'] },
      { id: 7, type: 'CLIPTextEncode', mode: 0, widgets_values: ['ugly'] },
      { id: 10, type: 'LoraLoader', mode: 0, widgets_values: ['styles/inkWash.safetensors', 0.8, 0.6] },
      { id: 12, type: 'LoraLoader', mode: 4, widgets_values: ['bypassed.safetensors', 1, 1] },
      { id: 3, type: 'KSampler', mode: 0, widgets_values: [99, 'fixed', 25, 7, 'euler', 'normal', 1] },
    ],
  };
}

/** CivitAI image metadata as its images API returns it (`meta`). */
export function civitaiImageItem(): Record<string, unknown> {
  return {
    id: 123456,
    url: 'https://image.civitai.com/x/y.jpeg',
    meta: {
      prompt: 'cinematic photo of a cat astronaut, <lora:catAstro:0.9>',
      negativePrompt: 'cartoon',
      seed: 31337,
      steps: 25,
      sampler: 'Euler a',
      cfgScale: 7,
      Size: '768x1024',
      Model: 'realisticVisionV60',
      'Model hash': '15012c538f',
      clipSkip: 2,
      hashes: { model: '15012c538f', 'lora:catAstro': '0a1b2c3d4e5f' },
      resources: [
        { name: 'catAstro', type: 'lora', weight: 0.9, hash: '0a1b2c3d4e5f' },
        { name: 'realisticVisionV60', type: 'model', hash: '15012c538f' },
      ],
      civitaiResources: [{ type: 'lora', weight: 0.5, modelVersionId: 987654, modelVersionName: 'filmGrain v2', modelName: 'filmGrain' }],
    },
  };
}

/** A multipart body with image parts and fields, as a browser's FormData sends it. */
export function multipart(files: Array<{ name: string; data: Buffer; field?: string }>, fields: Record<string, string> = {}): { payload: Buffer; headers: Record<string, string> } {
  const boundary = '----recipe-test-boundary';
  const parts: Buffer[] = [];
  for (const [key, value] of Object.entries(fields)) parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${key}"\r\n\r\n${value}\r\n`));
  for (const f of files) {
    parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${f.field ?? 'files'}"; filename="${f.name}"\r\ncontent-type: application/octet-stream\r\n\r\n`), f.data, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}
