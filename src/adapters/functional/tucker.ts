// Tucker rebuild shared by LoCon (lora_mid), LoHa (hada_t1/t2) and LoKr (lokr_t2):
// R[p, q, :, :] = Σ_{i,j} t[i, j, :, :] · a[i, p] · b[j, q].
import type { Tensor } from '../../torch/index.ts';
import * as torch from '../../torch/index.ts';

export function rebuildTucker(t: Tensor, a: Tensor, b: Tensor): Tensor {
  return torch.einsum('ijkl,ip,jq->pqkl', t, a, b);
}
