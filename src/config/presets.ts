// The guide's two presets (shared/guide/prodigy-ia3-lokr-guide.md, "Base iA3 Prodigy .json" and
// "Base LoKr Prodigy .json"), kept byte for byte as the guide prints them, trailing comma included:
// users paste them as they are, so lyco must read them as they are.

export interface Preset {
  name: 'ia3' | 'lokr';
  title: string;
  description: string;
  /** The JSON text exactly as in the guide. */
  text: string;
}

const IA3 = String.raw`{
  "LoRA_type": "LyCORIS/iA3",
  "adaptive_noise_scale": 0.005,
  "caption_dropout_rate": 0,
  "epoch": 200,
  "gradient_accumulation_steps": 1,
  "gradient_checkpointing": true,
  "keep_tokens": 1,
  "learning_rate": 1.0,
  "lr_scheduler": "cosine",
  "lr_warmup": 0,
  "max_train_epochs": "200",
  "min_snr_gamma": 3,
  "multires_noise_discount": 0.1,
  "multires_noise_iterations": 6,
  "network_dropout": 0.3,
  "noise_offset": 0.05,
  "noise_offset_type": "Multires",
  "optimizer": "Prodigy",
  "additional_parameters": "--lr_scheduler_type \"CosineAnnealingLR\" --lr_scheduler_args \"T_max=200\" --min_bucket_reso 256 --max_bucket_reso 1024",
  "sample_every_n_epochs": 10,
  "sample_every_n_steps": 0,
  "save_every_n_epochs": 10,
  "save_every_n_steps": 0,
  "save_last_n_steps": 0,
  "save_model_as": "safetensors",
  "scale_weight_norms": 1,
  "seed": "31337",
  "shuffle_caption": true,
  "text_encoder_lr": 1.0,
  "train_batch_size": 1,
  "train_on_input": true,
  "training_comment": "rentry.co/ProdiAgy",
  "unet_lr": 1.0,
}
`;

const LOKR = String.raw`{
  "LoRA_type": "LyCORIS/LoKr",
  "adaptive_noise_scale": 0.005,
  "additional_parameters": "--lr_scheduler_type \"CosineAnnealingLR\" --lr_scheduler_args \"T_max=200\" --min_bucket_reso 256 --max_bucket_reso 1024",
  "caption_dropout_rate": 0,
  "conv_alpha": 512,
  "conv_dim": 512,
  "epoch": 200,
  "gradient_accumulation_steps": 1,
  "gradient_checkpointing": true,
  "keep_tokens": 1,
  "learning_rate": 1.0,
  "lr_scheduler": "cosine",
  "lr_warmup": 0,
  "max_train_epochs": "200",
  "min_snr_gamma": 3,
  "multires_noise_discount": 0.1,
  "multires_noise_iterations": 6,
  "network_alpha": 1024,
  "network_dim": 1024,
  "network_dropout": 0.3,
  "noise_offset": 0.05,
  "noise_offset_type": "Multires",
  "optimizer": "Prodigy",
  "optimizer_args": "\"d_coef=1.0\" \"weight_decay=0.050\" \"safeguard_warmup=False\" \"use_bias_correction=False\"",
  "sample_every_n_epochs": 10,
  "sample_every_n_steps": 0,
  "save_every_n_epochs": 10,
  "save_every_n_steps": 0,
  "save_last_n_steps": 0,
  "save_model_as": "safetensors",
  "scale_weight_norms": 1,
  "seed": "31337",
  "shuffle_caption": true,
  "text_encoder_lr": 1.0,
  "train_batch_size": 1,
  "training_comment": "rentry.co/ProdiAgy",
  "unet_lr": 1.0,
}
`;

export const PRESETS: readonly Preset[] = [
  {
    name: 'ia3',
    title: 'Base iA3 Prodigy',
    description: 'LyCORIS iA3 (~200 KB), Prodigy, CosineAnnealingLR, multires noise',
    text: IA3,
  },
  {
    name: 'lokr',
    title: 'Base LoKr Prodigy',
    description: 'LyCORIS LoKr dim 1024 / conv 512 (~2.5 MB), Prodigy with d_coef and weight_decay, CosineAnnealingLR',
    text: LOKR,
  },
];

export function findPreset(name: string): Preset | undefined {
  return PRESETS.find((p) => p.name === name.toLowerCase());
}
