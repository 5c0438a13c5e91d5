// Pretrains lyco's tiny text-to-image model from a seed and writes it as a diffusers folder:
//   node --import tsx scripts/pretrain/run.ts [--seed N] [--out DIR]
// Stages: captioned shape images → CLIP BPE vocabulary from the captions → AutoencoderKL →
// text encoder + UNet on the diffusion loss over the frozen VAE's latents → save → measure.
import { parseArgs } from 'node:util';
import { buildClipVocab, CLIPTokenizer } from '../../src/models/tokenizer/index.ts';
import * as torch from '../../src/torch/index.ts';
import { RECIPE, textConfig, UNET_CONFIG, VAE_CONFIG } from './configs.ts';
import { evaluate, loadTiny } from './evaluate.ts';
import { captionIds } from './generate.ts';
import { toTensor } from './images.ts';
import { startLog } from './log.ts';
import { formatScore } from './measure.ts';
import { saveDiffusers } from './save.ts';
import { allCaptions, makeAnyColourShapes, makeShapes, SIZE } from './shapes.ts';
import { trainDiffusion } from './train-diffusion.ts';
import { encodeAll, trainVae } from './train-vae.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '0' },
    out: { type: 'string', default: 'models/tiny' },
    threads: { type: 'string', default: '1' },
  },
});
const seed = Number(values.seed);
const out = values.out as string;
// One thread: on this shared 2-core machine two intra-op threads ran up to 7x slower than one
// whenever other jobs were running (spinning OpenMP workers); one thread is also deterministic.
torch.setNumThreads(Number(values.threads));
torch.manualSeed(seed);
const log = startLog();
const t0 = performance.now();

const set = makeShapes(seed, RECIPE.images);
const vocab = buildClipVocab([...allCaptions(), '']);
const tokenizer = new CLIPTokenizer({ encoder: new Map(Object.entries(vocab.vocab)), merges: vocab.merges, source: 'built' });
log(`${set.length} images, vocabulary of ${Object.keys(vocab.vocab).length} tokens (${vocab.merges.length} merges)`);

const images = toTensor(
  set.map((s) => s.pixels),
  SIZE,
).keep();
// The VAE also sees shapes in arbitrary colours, so it can render colours the UNet never learned.
const vaeImages = torch.scope(() => torch.cat([images, toTensor(makeAnyColourShapes(seed + 3, RECIPE.vaeExtraImages), SIZE)], 0)).keep();
const vae = trainVae(VAE_CONFIG, vaeImages, RECIPE.vae, new torch.Generator({ seed: seed + 1 }), log);
vaeImages.dispose();
const latents = encodeAll(vae, images);
images.dispose();
// SD's rule for its 0.18215: latents × factor have unit variance.
const scalingFactor = Number((1 / latents.mean.std().item()).toFixed(5));
vae.config.scaling_factor = scalingFactor;
log(`vae done; latent scaling factor ${scalingFactor}`);

const { textEncoder, unet } = trainDiffusion(
  { text: textConfig(Object.keys(vocab.vocab).length), unet: UNET_CONFIG },
  {
    mean: latents.mean,
    std: latents.std,
    scalingFactor,
    ids: captionIds(
      tokenizer,
      set.map((s) => s.caption),
    ),
    emptyIds: captionIds(tokenizer, ['']).view(-1),
  },
  RECIPE.diffusion,
  new torch.Generator({ seed: seed + 2 }),
  log,
);
const trainSeconds = (performance.now() - t0) / 1000;
saveDiffusers(
  out,
  { unet, vae, textEncoder, vocab },
  { 'lyco.pretrain.seed': String(seed), 'lyco.pretrain.recipe': JSON.stringify(RECIPE) },
);
log(`wrote ${out} (training took ${(trainSeconds / 60).toFixed(1)} min)`);

const tiny = loadTiny(out);
const s = evaluate(tiny);
log(`samples read back (64 prompts, DDIM 20 steps, cfg 4): ${formatScore(s)}`);
