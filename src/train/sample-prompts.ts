// sd-scripts' sample prompt file (--sample_prompts, .txt form): one prompt per line, `#` lines
// skipped, options inside the line: --n negative prompt, --w width, --h height, --d seed,
// --l CFG scale, --s steps (train_util.py:line_to_prompt_dict).
import { readFileSync } from 'node:fs';

export interface SamplePrompt {
  prompt: string;
  negativePrompt: string;
  width: number;
  height: number;
  seed?: number;
  scale: number;
  steps: number;
}

export function parsePromptLine(line: string): SamplePrompt | undefined {
  const t = line.trim();
  if (t === '' || t.startsWith('#')) return undefined;
  const parts = t.split(' --');
  const out: SamplePrompt = { prompt: parts[0].trim(), negativePrompt: '', width: 512, height: 512, scale: 7.5, steps: 30 };
  for (const p of parts.slice(1)) {
    const m = /^(\w+)\s+([\s\S]*)$/.exec(p.trim());
    if (!m) continue;
    const [, key, value] = m;
    const n = Number(value.trim());
    switch (key) {
      case 'n':
        out.negativePrompt = value.trim();
        break;
      case 'w':
        if (Number.isFinite(n)) out.width = n;
        break;
      case 'h':
        if (Number.isFinite(n)) out.height = n;
        break;
      case 'd':
        if (Number.isFinite(n)) out.seed = n;
        break;
      case 'l':
        if (Number.isFinite(n)) out.scale = n;
        break;
      case 's':
        if (Number.isFinite(n)) out.steps = n;
        break;
    }
  }
  return out;
}

export function readPromptFile(path: string): SamplePrompt[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`sample_prompts: cannot read ${path} (${(e as Error).message.split('\n')[0]})`);
  }
  if (/\.(toml|json)$/i.test(path)) throw new Error(`sample_prompts: ${path}: lyco reads the .txt prompt format (--n --w --h --d --l --s)`);
  return text.split(/\r?\n/).flatMap((l) => parsePromptLine(l) ?? []);
}
