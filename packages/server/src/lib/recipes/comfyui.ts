import {
  boundDraft,
  emptyParams,
  finiteNumber,
  integer,
  loraBaseName,
  text,
  type DraftLora,
  type DraftParams,
  type RecipeDraft,
} from './recipe-draft.ts';

/**
 * ComfyUI graphs → recipe draft. The API-format `prompt` (node id → {class_type, inputs}, links as [id, slot]) is
 * read from the sampler backwards: its model input leads through the LoRA loaders to the checkpoint, its
 * positive/negative inputs to the text encoders, its latent to the size. The UI `workflow` (nodes with
 * widgets_values) is the fallback when an image carries only that.
 */

type Node = { class_type?: unknown; inputs?: Record<string, unknown> };
type Graph = Record<string, Node>;

const SAMPLERS = /^(KSampler|KSamplerAdvanced|SamplerCustom|SamplerCustomAdvanced|KSampler \(Efficient\)|KSampler Adv\. \(Efficient\))/;
const CHECKPOINT = /(CheckpointLoader|Load Checkpoint|UNETLoader|Efficient Loader|unCLIPCheckpointLoader)/i;
/** Bound the graph walk: crafted graphs may be huge or cyclic. */
const MAX_NODES = 5000;

function isLink(value: unknown): value is [string | number, number] {
  return Array.isArray(value) && value.length === 2 && (typeof value[0] === 'string' || typeof value[0] === 'number') && typeof value[1] === 'number';
}

export function isComfyPromptGraph(value: unknown): value is Graph {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const nodes = Object.values(value as Record<string, unknown>);
  return nodes.length > 0 && nodes.some((n) => !!n && typeof n === 'object' && typeof (n as Node).class_type === 'string');
}

function classOf(node: Node | undefined): string {
  return typeof node?.class_type === 'string' ? node.class_type : '';
}

function inputOf(graph: Graph, node: Node | undefined, key: string): Node | undefined {
  const value = node?.inputs?.[key];
  return isLink(value) ? graph[String(value[0])] : undefined;
}

/** A text input that may be a literal or a link to a primitive / string node. */
function literal(graph: Graph, node: Node | undefined, keys: readonly string[], depth = 0): unknown {
  for (const key of keys) {
    const value = node?.inputs?.[key];
    if (value === undefined) continue;
    if (!isLink(value)) return value;
    if (depth < 8) {
      const source = graph[String(value[0])];
      const found = literal(graph, source, ['text', 'string', 'value', 'text_g', 'prompt', 'STRING', 'Text', 'seed', 'noise_seed', 'int', 'float'], depth + 1);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** Every LoRA a node applies, in the order it applies them. Covers core loaders and common stacker nodes. */
function lorasOfNode(node: Node): DraftLora[] {
  const cls = classOf(node);
  const inputs = node.inputs ?? {};
  const make = (name: unknown, model: unknown, clip: unknown): DraftLora | null => {
    const n = text(name);
    if (!n || n.toLowerCase() === 'none') return null;
    const weight = finiteNumber(model) ?? 1;
    const clipWeight = finiteNumber(clip);
    return { name: loraBaseName(n), weight, clip_weight: clipWeight !== null && clipWeight !== weight ? clipWeight : null, hash: null, civitai_model_id: null, civitai_version_id: null };
  };
  const out: Array<DraftLora | null> = [];
  if (/^LoraLoader(ModelOnly)?$|^LoraLoader\|pysssss$|^LoraLoaderModelOnly/.test(cls)) {
    out.push(make(inputs.lora_name, inputs.strength_model, inputs.strength_clip));
  } else if (/Power Lora Loader/i.test(cls)) {
    for (const [key, value] of Object.entries(inputs)) {
      if (!/^lora_\d+$/i.test(key) || !value || typeof value !== 'object') continue;
      const v = value as Record<string, unknown>;
      if (v.on === false) continue;
      out.push(make(v.lora, v.strength, v.strengthTwo ?? v.strength));
    }
  } else if (/LoRA Stacker|Lora Stacker/i.test(cls)) {
    const count = integer(inputs.lora_count) ?? 50;
    const simple = inputs.input_mode !== 'advanced';
    for (let i = 1; i <= Math.min(count, 50); i++) {
      out.push(make(inputs[`lora_name_${i}`], simple ? inputs[`lora_wt_${i}`] : inputs[`model_str_${i}`], simple ? inputs[`lora_wt_${i}`] : inputs[`clip_str_${i}`]));
    }
  } else if (/CR LoRA Stack/i.test(cls)) {
    for (let i = 1; i <= 10; i++) {
      if (inputs[`switch_${i}`] === 'Off' || inputs[`switch_${i}`] === false) continue;
      out.push(make(inputs[`lora_name_${i}`], inputs[`model_weight_${i}`], inputs[`clip_weight_${i}`]));
    }
  } else if (/Lora Loader \(LoraManager\)|Lora Stacker \(LoraManager\)/i.test(cls)) {
    const list = (inputs.loras as { __value__?: unknown } | undefined)?.__value__;
    if (Array.isArray(list)) {
      for (const item of list as Array<Record<string, unknown>>) {
        if (item && item.active !== false) out.push(make(item.name, item.strength, item.clipStrength ?? item.strength));
      }
    }
  }
  return out.filter((l): l is DraftLora => l !== null);
}

function pickSampler(graph: Graph): Node | undefined {
  const samplers = Object.values(graph).filter((n) => SAMPLERS.test(classOf(n)));
  // With a hires pass there are two samplers; the first pass (full denoise) holds the recipe's settings.
  return samplers.find((n) => (finiteNumber(n.inputs?.denoise) ?? 1) >= 1) ?? samplers[0];
}

/** Ancestors of `start` through every link, nearest first (breadth-first), bounded. */
function ancestors(graph: Graph, start: Node): Node[] {
  const seen = new Set<Node>([start]);
  const order: Node[] = [];
  const queue: Node[] = [start];
  while (queue.length > 0 && seen.size < MAX_NODES) {
    const node = queue.shift() as Node;
    for (const value of Object.values(node.inputs ?? {})) {
      if (!isLink(value)) continue;
      const next = graph[String(value[0])];
      if (next && typeof next === 'object' && !seen.has(next)) {
        seen.add(next);
        order.push(next);
        queue.push(next);
      }
    }
  }
  return order;
}

function promptText(graph: Graph, encoder: Node | undefined): string {
  let node = encoder;
  // Conditioning may pass through combiners or ControlNet appliers before the sampler: follow `conditioning`-like links.
  for (let hops = 0; hops < 16 && node && literal(graph, node, ['text', 'text_g', 'positive', 'prompt']) === undefined; hops++) {
    node = inputOf(graph, node, 'conditioning') ?? inputOf(graph, node, 'conditioning_1') ?? inputOf(graph, node, 'positive') ?? inputOf(graph, node, 'conditioning_to');
  }
  const value = literal(graph, node, ['text', 'text_g', 'positive', 'prompt']);
  return typeof value === 'string' ? value.trim() : '';
}

export function parseComfyPrompt(graph: Graph): RecipeDraft {
  const sampler = pickSampler(graph);
  const params: DraftParams = emptyParams();
  let loras: DraftLora[] = [];
  let prompt = '';
  let negative = '';
  if (sampler) {
    params.seed = integer(literal(graph, sampler, ['seed', 'noise_seed']));
    params.steps = integer(literal(graph, sampler, ['steps']));
    params.cfg_scale = finiteNumber(literal(graph, sampler, ['cfg']));
    params.sampler = text(literal(graph, sampler, ['sampler_name']));
    params.scheduler = text(literal(graph, sampler, ['scheduler']));
    prompt = promptText(graph, inputOf(graph, sampler, 'positive'));
    negative = promptText(graph, inputOf(graph, sampler, 'negative'));
    const latent = inputOf(graph, sampler, 'latent_image');
    params.width = integer(literal(graph, latent, ['width']));
    params.height = integer(literal(graph, latent, ['height']));
    const upstream = ancestors(graph, sampler);
    // Nearest-first walk: the loader next to the checkpoint is found last but applied first.
    loras = upstream.reverse().flatMap(lorasOfNode);
    const checkpoint = upstream.find((n) => CHECKPOINT.test(classOf(n)));
    params.checkpoint = text(literal(graph, checkpoint, ['ckpt_name', 'unet_name', 'model_name']));
    const clipSkip = upstream.find((n) => classOf(n) === 'CLIPSetLastLayer');
    const stop = integer(literal(graph, clipSkip, ['stop_at_clip_layer']));
    params.clip_skip = stop !== null && stop < -1 ? -stop : null;
  } else {
    // No sampler (a partial graph): still take what loaders and checkpoints it has.
    loras = Object.values(graph).flatMap((n) => (n && typeof n === 'object' ? lorasOfNode(n) : []));
    params.checkpoint = text(literal(graph, Object.values(graph).find((n) => CHECKPOINT.test(classOf(n))), ['ckpt_name', 'unet_name']));
  }
  const seen = new Set<string>();
  loras = loras.filter((l) => (seen.has(l.name) ? false : (seen.add(l.name), true)));
  return boundDraft({ source: 'comfyui', prompt, negative_prompt: negative, params, loras, embeddings: [], extra: {} });
}

interface WorkflowNode {
  id?: unknown;
  type?: unknown;
  mode?: unknown;
  widgets_values?: unknown;
}

export function isComfyWorkflow(value: unknown): value is { nodes: WorkflowNode[] } {
  return !!value && typeof value === 'object' && Array.isArray((value as { nodes?: unknown }).nodes);
}

/** The UI workflow: no links are followed, loaders are taken in node order (bypassed nodes, mode 4, skipped). */
export function parseComfyWorkflow(workflow: { nodes: WorkflowNode[] }): RecipeDraft {
  const params = emptyParams();
  const loras: DraftLora[] = [];
  const texts: string[] = [];
  const nodes = workflow.nodes.slice(0, MAX_NODES).filter((n) => n && typeof n === 'object' && n.mode !== 4 && n.mode !== 2);
  nodes.sort((a, b) => (integer(a.id) ?? 0) - (integer(b.id) ?? 0));
  for (const node of nodes) {
    const type = typeof node.type === 'string' ? node.type : '';
    const w = Array.isArray(node.widgets_values) ? (node.widgets_values as unknown[]) : [];
    if (/^LoraLoader(ModelOnly)?$/.test(type)) {
      const name = text(w[0]);
      const weight = finiteNumber(w[1]) ?? 1;
      const clip = type === 'LoraLoader' ? finiteNumber(w[2]) : null;
      if (name && name !== 'None') loras.push({ name: loraBaseName(name), weight, clip_weight: clip !== null && clip !== weight ? clip : null, hash: null, civitai_model_id: null, civitai_version_id: null });
    } else if (/^KSampler$/.test(type) && params.steps === null) {
      params.seed = integer(w[0]);
      params.steps = integer(w[2]);
      params.cfg_scale = finiteNumber(w[3]);
      params.sampler = text(w[4]);
      params.scheduler = text(w[5]);
    } else if (CHECKPOINT.test(type) && params.checkpoint === null) {
      params.checkpoint = text(w[0]);
    } else if (type === 'EmptyLatentImage' && params.width === null) {
      params.width = integer(w[0]);
      params.height = integer(w[1]);
    } else if (type === 'CLIPTextEncode' && typeof w[0] === 'string') {
      texts.push(w[0].trim());
    }
  }
  // Without links the workflow does not say which text is negative; the usual layout has the positive one first.
  return boundDraft({ source: 'comfyui', prompt: texts[0] ?? '', negative_prompt: texts[1] ?? '', params, loras, embeddings: [], extra: {} });
}
