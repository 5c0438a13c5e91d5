// Parameter shapes of a LoKr network from the guide's preset (network_dim 1024, conv_dim 512,
// factor -1) on an SD1.5 U-Net and CLIP-L text encoder, LyCORIS 1.8 targets
// (spec-lycoris §2.4, §3.1). With these dims every module has full lokr_w1 and lokr_w2.

/** LyCORIS factorization(D, -1): the largest divisor m <= sqrt(D), as (m, D/m). */
export function factorization(dim: number): [number, number] {
  let m = 1;
  for (let i = 1; i * i <= dim; i++) if (dim % i === 0) m = i;
  return [m, dim / m];
}

export interface LokrParam {
  name: string;
  shape: number[];
  /** lokr_w2 starts at zero (LyCORIS zero-init versions), lokr_w1 random. */
  zero: boolean;
}

function lokr(name: string, out: number, inp: number, kernel?: number): LokrParam[] {
  const [a, b] = factorization(out);
  const [c, d] = factorization(inp);
  const k = kernel === undefined ? [] : [kernel, kernel];
  return [
    { name: `${name}.lokr_w1`, shape: [a, c], zero: false },
    { name: `${name}.lokr_w2`, shape: [b, d, ...k], zero: true },
  ];
}

function transformer(prefix: string, c: number): LokrParam[] {
  const out: LokrParam[] = [...lokr(`${prefix}_proj_in`, c, c, 1)];
  const tb = `${prefix}_transformer_blocks_0`;
  for (const n of ['to_q', 'to_k', 'to_v', 'to_out_0']) out.push(...lokr(`${tb}_attn1_${n}`, c, c));
  out.push(...lokr(`${tb}_attn2_to_q`, c, c), ...lokr(`${tb}_attn2_to_k`, c, 768), ...lokr(`${tb}_attn2_to_v`, c, 768));
  out.push(...lokr(`${tb}_attn2_to_out_0`, c, c), ...lokr(`${tb}_ff_net_0_proj`, 8 * c, c), ...lokr(`${tb}_ff_net_2`, c, 4 * c));
  out.push(...lokr(`${prefix}_proj_out`, c, c, 1));
  return out;
}

function resnet(prefix: string, cin: number, cout: number): LokrParam[] {
  const out = [
    ...lokr(`${prefix}_conv1`, cout, cin, 3),
    ...lokr(`${prefix}_time_emb_proj`, cout, 1280),
    ...lokr(`${prefix}_conv2`, cout, cout, 3),
  ];
  if (cin !== cout) out.push(...lokr(`${prefix}_conv_shortcut`, cout, cin, 1));
  return out;
}

export function sd15LokrParams(): { unet: LokrParam[]; textEncoder: LokrParam[] } {
  const ch = [320, 640, 1280, 1280];
  const unet: LokrParam[] = [];
  let cin = 320;
  ch.forEach((c, i) => {
    for (let j = 0; j < 2; j++) {
      unet.push(...resnet(`lora_unet_down_blocks_${i}_resnets_${j}`, j === 0 ? cin : c, c));
      if (i < 3) unet.push(...transformer(`lora_unet_down_blocks_${i}_attentions_${j}`, c));
    }
    if (i < 3) unet.push(...lokr(`lora_unet_down_blocks_${i}_downsamplers_0_conv`, c, c, 3));
    cin = c;
  });
  unet.push(...resnet('lora_unet_mid_block_resnets_0', 1280, 1280), ...transformer('lora_unet_mid_block_attentions_0', 1280));
  unet.push(...resnet('lora_unet_mid_block_resnets_1', 1280, 1280));
  const rev = [...ch].reverse();
  rev.forEach((c, i) => {
    const prev = rev[Math.max(i - 1, 0)];
    const input = rev[Math.min(i + 1, 3)];
    for (let j = 0; j < 3; j++) {
      const skip = j === 2 ? input : c;
      unet.push(...resnet(`lora_unet_up_blocks_${i}_resnets_${j}`, (j === 0 ? prev : c) + skip, c));
      if (i > 0) unet.push(...transformer(`lora_unet_up_blocks_${i}_attentions_${j}`, c));
    }
    if (i < 3) unet.push(...lokr(`lora_unet_up_blocks_${i}_upsamplers_0_conv`, c, c, 3));
  });
  const textEncoder: LokrParam[] = [];
  for (let l = 0; l < 12; l++) {
    const p = `lora_te_text_model_encoder_layers_${l}`;
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) textEncoder.push(...lokr(`${p}_self_attn_${n}`, 768, 768));
    textEncoder.push(...lokr(`${p}_mlp_fc1`, 3072, 768), ...lokr(`${p}_mlp_fc2`, 768, 3072));
  }
  return { unet, textEncoder };
}
