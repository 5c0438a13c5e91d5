// The guide's preset, changed only in the keys that depend on the data's size: epochs, batch,
// resolution 32 (and the bucket bounds that follow from it), save/sample cadence. Everything else
// (Prodigy, cosine, iA3/LoKr settings, noise settings, seed) stays as the guide prints it; lyco
// sets T_max to the planned steps itself.
import { findPreset } from '../config/index.ts';

export type DemoPreset = 'ia3' | 'lokr';

export interface SizeKeys {
  epochs: number;
  batch: number;
  /** Save and sample every n epochs; 0 saves only the final adapter. */
  cadence: number;
}

function setKey(text: string, key: string, value: string): string {
  const re = new RegExp(`("${key}": )[^,\\n]*`);
  if (re.test(text)) return text.replace(re, `$1${value}`);
  // Not in the preset: add it after the opening brace.
  return text.replace('{\n', `{\n  "${key}": ${value},\n`);
}

/** The preset's JSON text with the size-dependent keys set. */
export function demoConfig(preset: DemoPreset, s: SizeKeys): string {
  const base = findPreset(preset);
  if (!base) throw new Error(`unknown preset ${preset}`);
  let t = base.text;
  t = setKey(t, 'epoch', String(s.epochs));
  t = setKey(t, 'max_train_epochs', `"${s.epochs}"`);
  t = setKey(t, 'train_batch_size', String(s.batch));
  t = setKey(t, 'save_every_n_epochs', String(s.cadence));
  t = setKey(t, 'sample_every_n_epochs', String(s.cadence));
  t = setKey(t, 'max_resolution', '"32,32"');
  t = setKey(t, 'bucket_reso_steps', '32');
  // Bucket bounds are sizes too: 256..1024 cannot hold a 32 px image.
  t = t.replace('--min_bucket_reso 256 --max_bucket_reso 1024', '--min_bucket_reso 32 --max_bucket_reso 64');
  return t;
}
