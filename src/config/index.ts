// The config layer: kohya_ss GUI JSON, sd-scripts TOML and arguments, the guide's presets.
export { type ArgValue, parseSdArgv } from './argv.ts';
export { ConfigError, type Diagnostic, Diagnostics, formatDiagnostic, type Level } from './diagnostics.ts';
export { checkEffects, groupLearningRates, isAdaptiveOptimizer, lycorisAlgo } from './inert.ts';
export { type GuiHints, type GuiMapping, type Mode, mapKohyaGui } from './kohya-gui.ts';
export { parseKvArgs, shellSplit } from './kv-args.ts';
export { type ConfigFormat, detectFormat, type LoadedConfig, type LoadOptions, loadConfig, parseConfig } from './load.ts';
export { editDistance, nearestKey } from './nearest.ts';
export { findPreset, PRESETS, type Preset } from './presets.ts';
export { type PyValue, parsePyLiteral, pyRepr } from './py-literal.ts';
export { CONFIG_KEYS, type TrainConfig, TrainConfigSchema } from './schema.ts';
export { SD_OPTIONS } from './sd-options.ts';
export { type CaptionRandomness, checkTextEncoderCache, type TextCacheConflict, textCacheConflict } from './text-encoder-cache.ts';
export { writeFileAtomic } from './write-atomic.ts';
