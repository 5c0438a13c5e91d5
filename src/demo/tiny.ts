// Loads the tiny model from its diffusers folder as any user would (loadModel plus the folder's
// tokenizer/), in float32 for the CPU, frozen: the demo samples with it and measures its samples.
import { buildTextEncoder, type CLIPTextModel, loadTextEncoderWeights, parseClipTextConfig } from '../models/clip/index.ts';
import { loadModel } from '../models/index.ts';
import { loadClipTokenizer } from '../models/tokenizer/index.ts';
import type { TextToImage } from './generate.ts';

export function loadTiny(dir: string): TextToImage {
  const m = loadModel(dir, { dtype: 'float32' });
  try {
    const part = m.textEncoders.text_encoder;
    if (!part || !m.unet || !m.vae) throw new Error(`${dir}: not a complete tiny model (unet, vae, text_encoder)`);
    const textEncoder = buildTextEncoder(parseClipTextConfig(part.config, dir), false) as CLIPTextModel;
    loadTextEncoderWeights(textEncoder, part.stateDict, `${dir} (text_encoder)`);
    for (const x of [m.unet, m.vae, textEncoder]) x.eval().requiresGrad_(false);
    const { tokenizer } = loadClipTokenizer({ modelDir: dir });
    return { unet: m.unet, vae: m.vae, textEncoder, tokenizer };
  } finally {
    m.release();
  }
}
