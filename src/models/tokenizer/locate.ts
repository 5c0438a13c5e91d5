// Finds CLIP tokenizer files where users already have them; lyco ships no vocabulary.
// SD1.x, SD2.x and both SDXL tokenizers use one and the same vocabulary and merges (only the
// pad id differs, which the model family decides), so any copy serves any of them.
// Order: --tokenizer (explicit wins), the diffusers model folder's tokenizer/ (tokenizer_2/),
// the Hugging Face hub cache, ComfyUI's bundled copy, A1111's venv (openai clip / open_clip).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const BPE_GZ = 'bpe_simple_vocab_16e6.txt.gz';

export type TokenizerFiles = { kind: 'hf'; vocab: string; merges: string } | { kind: 'bpe-gz'; path: string };
export interface FoundTokenizer {
  files: TokenizerFiles;
  /** Which rule found it, e.g. "Hugging Face cache (openai/clip-vit-large-patch14)". */
  via: string;
}

export interface LocateOptions {
  /** --tokenizer: a folder with vocab.json + merges.txt (or with bpe_simple_vocab_16e6.txt.gz), or the .gz file. */
  tokenizer?: string;
  /** A diffusers model folder. */
  modelDir?: string;
  /** 'tokenizer' (SD, SDXL encoder 1) or 'tokenizer_2' (SDXL encoder 2). */
  subfolder?: 'tokenizer' | 'tokenizer_2';
  env?: NodeJS.ProcessEnv;
  home?: string;
}

// Hub repos whose snapshots hold the CLIP vocabulary, at the root or in a subfolder.
const HUB_REPOS: [repo: string, sub: string][] = [
  ['openai/clip-vit-large-patch14', ''],
  ['laion/CLIP-ViT-bigG-14-laion2B-39B-b160k', ''],
  ['stabilityai/stable-diffusion-2', 'tokenizer'],
  ['stabilityai/stable-diffusion-2-1', 'tokenizer'],
  ['stabilityai/stable-diffusion-xl-base-1.0', 'tokenizer'],
  ['runwayml/stable-diffusion-v1-5', 'tokenizer'],
  ['stable-diffusion-v1-5/stable-diffusion-v1-5', 'tokenizer'],
];

/** A folder's tokenizer files, if it has them. */
export function filesIn(dir: string): TokenizerFiles | undefined {
  if (!isDir(dir)) return isFile(dir) && dir.endsWith('.gz') ? { kind: 'bpe-gz', path: dir } : undefined;
  const vocab = join(dir, 'vocab.json');
  const merges = join(dir, 'merges.txt');
  if (isFile(vocab) && isFile(merges)) return { kind: 'hf', vocab, merges };
  if (isFile(join(dir, BPE_GZ))) return { kind: 'bpe-gz', path: join(dir, BPE_GZ) };
  return undefined;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir)
      .map((n) => join(dir, n))
      .filter(isDir);
  } catch {
    return [];
  }
}

export function hubCacheDir(env: NodeJS.ProcessEnv, home: string): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HUGGINGFACE_HUB_CACHE) return env.HUGGINGFACE_HUB_CACHE;
  const hfHome = env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(home, '.cache'), 'huggingface');
  return join(hfHome, 'hub');
}

/** Snapshot folders of a hub repo, the one refs/main points to first. */
function hubSnapshots(hub: string, repo: string): string[] {
  const root = join(hub, `models--${repo.replace('/', '--')}`);
  const snaps = subdirs(join(root, 'snapshots'));
  try {
    const main = readFileSync(join(root, 'refs', 'main'), 'utf8').trim();
    snaps.sort((a, b) => Number(b.endsWith(main)) - Number(a.endsWith(main)));
  } catch {}
  return snaps;
}

function comfyRoots(home: string): string[] {
  return ['ComfyUI', 'comfyui', join('ComfyUI_windows_portable', 'ComfyUI'), join('src', 'ComfyUI'), join('ai', 'ComfyUI')]
    .map((d) => join(home, d))
    .concat(['/opt/ComfyUI', join(process.cwd(), 'ComfyUI')]);
}
function a1111Roots(home: string): string[] {
  return ['stable-diffusion-webui', 'stable-diffusion-webui-forge', join('src', 'stable-diffusion-webui')]
    .map((d) => join(home, d))
    .concat(['/opt/stable-diffusion-webui']);
}
/** site-packages/{clip,open_clip}/bpe_simple_vocab_16e6.txt.gz inside a venv (Linux or Windows layout). */
function venvBpe(root: string): string | undefined {
  const sites = [join(root, 'venv', 'Lib', 'site-packages')];
  for (const lib of subdirs(join(root, 'venv', 'lib'))) sites.push(join(lib, 'site-packages'));
  for (const site of sites) {
    for (const pkg of ['clip', 'open_clip']) {
      const p = join(site, pkg, BPE_GZ);
      if (existsSync(p)) return p;
    }
  }
  return undefined;
}

export class TokenizerNotFoundError extends Error {
  constructor(looked: string[]) {
    super(
      `no CLIP tokenizer found (lyco ships none); looked in: ${looked.join('; ')}. Fix: pass --tokenizer DIR, a folder with vocab.json + merges.txt (a diffusers model's tokenizer/, or a download of openai/clip-vit-large-patch14) or openai's ${BPE_GZ}`,
    );
    this.name = 'TokenizerNotFoundError';
  }
}

/** Finds the tokenizer files or throws a one-line TokenizerNotFoundError naming every place it looked. */
export function locateTokenizer(o: LocateOptions = {}): FoundTokenizer {
  const env = o.env ?? process.env;
  const home = o.home ?? homedir();
  if (o.tokenizer !== undefined) {
    const files = filesIn(o.tokenizer) ?? filesIn(join(o.tokenizer, o.subfolder ?? 'tokenizer'));
    if (files) return { files, via: `--tokenizer ${o.tokenizer}` };
    throw new Error(`--tokenizer ${o.tokenizer}: no vocab.json + merges.txt or ${BPE_GZ} there; give the folder that holds them`);
  }
  const looked: string[] = [];
  if (o.modelDir !== undefined) {
    const dir = join(o.modelDir, o.subfolder ?? 'tokenizer');
    const files = filesIn(dir);
    if (files) return { files, via: `model folder ${dir}` };
    looked.push(dir);
  }
  const hub = hubCacheDir(env, home);
  for (const [repo, sub] of HUB_REPOS) {
    for (const snap of hubSnapshots(hub, repo)) {
      const files = filesIn(sub ? join(snap, sub) : snap);
      if (files) return { files, via: `Hugging Face cache (${repo}) ${sub ? join(snap, sub) : snap}` };
    }
  }
  looked.push(`Hugging Face cache ${hub} (${HUB_REPOS.map(([r]) => r.split('/')[1]).join(', ')})`);
  for (const root of comfyRoots(home)) {
    const dir = join(root, 'comfy', 'sd1_tokenizer');
    const files = filesIn(dir);
    if (files) return { files, via: `ComfyUI ${dir}` };
  }
  looked.push(`ComfyUI comfy/sd1_tokenizer under ${join(home, 'ComfyUI')} and similar`);
  for (const root of a1111Roots(home)) {
    const gz = venvBpe(root);
    if (gz) return { files: { kind: 'bpe-gz', path: gz }, via: `A1111 venv ${gz}` };
  }
  looked.push(`A1111 venv site-packages/{clip,open_clip}/${BPE_GZ} under ${join(home, 'stable-diffusion-webui')} and similar`);
  throw new TokenizerNotFoundError(looked);
}
