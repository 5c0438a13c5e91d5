// Where sd-scripts puts a run's files, and the saves themselves: step saves
// `<name>-step<g:08d>`, epoch saves `<name>-<e:06d>`, the final `<name>` (.safetensors), each
// optionally with a `-state` folder; save_last_n_epochs / save_last_n_steps (/ _state) remove the
// save that fell out of the window. Adapter files are written atomically by safetensors.save
// and read back before they count.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type SaveDType, saveAdapterFile } from '../adapters/file.ts';
import type { AdapterNetwork } from '../adapters/network.ts';
import type { TrainConfig } from '../config/index.ts';

export type SaveKind = 'step' | 'epoch' | 'final';

export interface SaveName {
  kind: SaveKind;
  /** Adapter file path. */
  file: string;
  /** State folder path. */
  stateDir: string;
}

const SAVE_DTYPE: Record<string, SaveDType | undefined> = { fp16: 'float16', bf16: 'bfloat16', float: 'float32' };

export function saveName(cfg: TrainConfig, outputDir: string, kind: SaveKind, n: number): SaveName {
  const ext = cfg.save_model_as;
  const base =
    kind === 'final'
      ? (cfg.output_name ?? 'last')
      : kind === 'epoch'
        ? `${cfg.output_name ?? 'epoch'}-${String(n).padStart(6, '0')}`
        : `${cfg.output_name ?? 'at'}-step${String(n).padStart(8, '0')}`;
  return { kind, file: join(outputDir, `${base}.${ext}`), stateDir: join(outputDir, `${base}-state`) };
}

export function saveAdapter(cfg: TrainConfig, network: AdapterNetwork, file: string, metadata: Record<string, string>): void {
  if (cfg.save_model_as !== 'safetensors') {
    throw new Error(`save_model_as ${cfg.save_model_as}: lyco writes safetensors only (pickle formats can run code when loaded)`);
  }
  saveAdapterFile(file, network, { dtype: cfg.save_precision ? SAVE_DTYPE[cfg.save_precision] : undefined, metadata });
}

/** Removes the save (adapter and/or state) that the keep-last-n options drop after saving `n`. */
export function pruneOld(cfg: TrainConfig, outputDir: string, kind: 'step' | 'epoch', n: number): string[] {
  const removed: string[] = [];
  const drop = (path: string) => {
    if (existsSync(path)) {
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    }
  };
  if (kind === 'epoch' && cfg.save_last_n_epochs && cfg.save_every_n_epochs) {
    const old = n - cfg.save_every_n_epochs * cfg.save_last_n_epochs;
    if (old > 0) drop(saveName(cfg, outputDir, 'epoch', old).file);
  }
  if (kind === 'step' && cfg.save_every_n_steps) {
    const every = cfg.save_every_n_steps;
    if (cfg.save_last_n_steps) {
      // sd-scripts: step - save_last_n_steps - 1, rounded down to a multiple of save_every_n_steps.
      const r = n - cfg.save_last_n_steps - 1;
      const old = r - (r % every);
      if (old > 0) drop(saveName(cfg, outputDir, 'step', old).file);
    }
    if (cfg.save_last_n_steps_state) {
      const r = n - cfg.save_last_n_steps_state - 1;
      const old = r - (r % every);
      if (old > 0) drop(saveName(cfg, outputDir, 'step', old).stateDir);
    }
  }
  return removed;
}

/** The newest complete state folder in outputDir (by its training step), for `--resume latest`. */
export function listStateDirs(outputDir: string): string[] {
  if (!existsSync(outputDir)) return [];
  return readdirSync(outputDir)
    .filter((n) => n.endsWith('-state'))
    .map((n) => join(outputDir, n));
}
