// CLIP text encoders against transformers 4.35.2 (golden text_encoders/): every hidden state,
// penultimate (raw and final-normed), both poolings, text_embeds and the recorded gradients,
// within the golden README's tolerance |a - b| <= 1e-5·max|b| + 1e-6.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  buildTextEncoder,
  type CLIPTextModel,
  type CLIPTextModelWithProjection,
  encodeSd,
  encodeSdxl,
  loadTextEncoderWeights,
  parseClipTextConfig,
  poolingIndex,
} from '../../src/models/clip/index.ts';
import { CheckpointTape } from '../../src/nn/checkpoint.ts';
import type { Tensor } from '../../src/torch/index.ts';
import * as torch from '../../src/torch/index.ts';
import { goldenDir } from '../helpers/golden.ts';

function close(actual: Tensor, expected: Tensor, name: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${name}: shape`);
  torch.noGrad(() =>
    torch.scope(() => {
      const diff = actual.sub(expected).abs().amax().item();
      const tol = 1e-5 * expected.abs().amax().item() + 1e-6;
      assert.ok(diff <= tol, `${name}: max |diff| ${diff} > ${tol}`);
    }),
  );
}

/** An int64 index of rows, for indexSelect. */
const rows = (...i: number[]) => torch.tensor(i, { dtype: 'int64' });

function load(dir: string, withProjection: boolean) {
  const config = parseClipTextConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
  const model = buildTextEncoder(config, withProjection);
  loadTextEncoderWeights(model, torch.safetensors.load(join(dir, 'weights.safetensors')), dir);
  return { model, io: torch.safetensors.load(join(dir, 'io.safetensors')) };
}

function lossOf(model: CLIPTextModel, io: Map<string, Tensor>, ids: Tensor): Tensor {
  const out = model.forward(ids) as ReturnType<CLIPTextModelWithProjection['forward']>;
  const last = out.last_hidden_state as Tensor;
  let loss = last
    .mul(io.get('loss.weights') as Tensor)
    .sum()
    .div(last.numel());
  if (out.text_embeds)
    loss = loss.add(
      out.text_embeds
        .mul(io.get('loss.weights_text_embeds') as Tensor)
        .sum()
        .div(out.text_embeds.numel()),
    );
  return loss;
}

for (const [name, withProjection] of [
  ['clip_l_tiny', false],
  ['clip_g_tiny', true],
] as const) {
  test(`${name}: strict load, every output and gradient of transformers`, (t) => {
    const dir = goldenDir(t, `models/text_encoders/${name}`);
    if (!dir) return;
    const { model, io } = load(dir, withProjection);
    const ids = io.get('in.input_ids') as Tensor;
    torch.scope(() => {
      const out = model.forward(ids) as ReturnType<CLIPTextModelWithProjection['forward']>;
      const hs = out.hidden_states;
      assert.equal(hs.length, model.config.num_hidden_layers + 1);
      for (const [i, h] of hs.entries()) close(h, io.get(`out.hidden_states.${i}`) as Tensor, `hidden_states.${i}`);
      close(out.last_hidden_state as Tensor, io.get('out.last_hidden_state') as Tensor, 'last_hidden_state');
      close(hs[hs.length - 2], io.get('out.penultimate') as Tensor, 'penultimate');
      close(
        model.text_model.final_layer_norm.forward(hs[hs.length - 2]),
        io.get('out.penultimate_final_ln') as Tensor,
        'penultimate_final_ln',
      );
      close(out.pooler_output as Tensor, io.get('out.pooler_output_legacy') as Tensor, 'pooler_output_legacy');
      assert.deepEqual(poolingIndex(ids, 2).toArray(), (io.get('pool_index.legacy') as Tensor).toArray());
      assert.deepEqual(poolingIndex(ids, 999).toArray(), (io.get('pool_index.first_eos') as Tensor).toArray());
      const firstEos = model.forward(ids, { eosTokenId: 999 }) as ReturnType<CLIPTextModelWithProjection['forward']>;
      close(firstEos.pooler_output as Tensor, io.get('out.pooler_output_first_eos') as Tensor, 'pooler_output_first_eos');
      if (withProjection) {
        close(out.text_embeds as Tensor, io.get('out.text_embeds_legacy') as Tensor, 'text_embeds_legacy');
        close(firstEos.text_embeds as Tensor, io.get('out.text_embeds_first_eos') as Tensor, 'text_embeds_first_eos');
      }
      // clip skip as sd-scripts: 1 = last_hidden_state, 2 = final_layer_norm(penultimate).
      close(encodeSd(model, ids), io.get('out.last_hidden_state') as Tensor, 'encodeSd');
      close(encodeSd(model, ids, 2), io.get('out.penultimate_final_ln') as Tensor, 'encodeSd clip skip 2');

      const loss = lossOf(model, io, ids);
      close(loss.reshape(1), io.get('loss.value') as Tensor, 'loss');
      loss.backward();
      const params = model.stateDict();
      let grads = 0;
      for (const [key, expected] of io) {
        if (!key.startsWith('grad.param.')) continue;
        close((params.get(key.slice('grad.param.'.length)) as Tensor).grad as Tensor, expected, key);
        grads++;
      }
      assert.equal(grads, withProjection ? 6 : 5);
    });
    model.dispose();
  });
}

test('gradient checkpointing of the encoder layers gives the same gradients', (t) => {
  const dir = goldenDir(t, 'models/text_encoders/clip_g_tiny');
  if (!dir) return;
  const { model, io } = load(dir, true);
  const ids = io.get('in.input_ids') as Tensor;
  const grads = (checkpointed: boolean) =>
    torch.scope(() => {
      for (const p of model.parameters()) p.grad = undefined;
      model.gradientCheckpointing = checkpointed;
      const tape = new CheckpointTape();
      const loss = tape.record(() => lossOf(model, io, ids));
      assert.equal(tape.size, checkpointed ? model.config.num_hidden_layers : 0);
      tape.backward(loss);
      return [...model.namedParameters()].map(([n, p]) => [n, (p.grad as Tensor).clone()] as const);
    });
  const plain = grads(false);
  const ckpt = grads(true);
  for (const [i, [n, g]] of plain.entries()) close(ckpt[i][1], g, `checkpointed ${n}`);
  model.dispose();
});

test('SDXL conditioning: encoder 1 and 2 penultimate concatenated, text_embeds at the first EOS', (t) => {
  const l = goldenDir(t, 'models/text_encoders/clip_l_tiny');
  const g = goldenDir(t, 'models/text_encoders/clip_g_tiny');
  if (!l || !g) return;
  const a = load(l, false);
  const b = load(g, true);
  const ids1 = a.io.get('in.input_ids') as Tensor;
  const ids2 = b.io.get('in.input_ids') as Tensor;
  torch.noGrad(() =>
    torch.scope(() => {
      const c = encodeSdxl(a.model, b.model as CLIPTextModelWithProjection, ids1, ids2, 999);
      close(c.hidden, torch.cat([a.io.get('out.penultimate') as Tensor, b.io.get('out.penultimate') as Tensor], 2), 'hidden');
      close(c.textEmbeds, b.io.get('out.text_embeds_first_eos') as Tensor, 'text_embeds');
      // Long prompts: [B, 2, 77] rows -> BOS, 75 + 75 middle states, last state of chunk 2.
      const pairs = (ids: Tensor) => torch.stack([ids.indexSelect(0, rows(0, 2)), ids.indexSelect(0, rows(2, 4))], 1); // captions (0,2), (2,4)
      const cc = encodeSdxl(a.model, b.model as CLIPTextModelWithProjection, pairs(ids1), pairs(ids2), 999);
      assert.deepEqual(cc.hidden.shape, [2, 152, 80]);
      const hs1 = a.io.get('out.penultimate') as Tensor;
      close(cc.hidden.narrow(2, 0, 32).narrow(1, 1, 75), hs1.indexSelect(0, rows(0, 2)).narrow(1, 1, 75), 'chunk 1 middle');
      close(cc.hidden.narrow(2, 0, 32).narrow(1, 76, 75), hs1.indexSelect(0, rows(2, 4)).narrow(1, 1, 75), 'chunk 2 middle');
      close(cc.hidden.narrow(2, 0, 32).select(1, 151), hs1.indexSelect(0, rows(2, 4)).select(1, 76), 'last state of the last chunk');
      const hs2 = b.io.get('out.penultimate') as Tensor;
      close(cc.hidden.narrow(2, 32, 48).narrow(1, 76, 75), hs2.indexSelect(0, rows(2, 4)).narrow(1, 1, 75), 'encoder 2 chunk 2 middle');
      close(cc.textEmbeds, (b.io.get('out.text_embeds_first_eos') as Tensor).indexSelect(0, rows(0, 2)), 'pooled from the first chunk');
    }),
  );
  a.model.dispose();
  b.model.dispose();
});

test('a state dict that does not fit fails in one line naming the file', (t) => {
  const dir = goldenDir(t, 'models/text_encoders/clip_l_tiny');
  if (!dir) return;
  const config = parseClipTextConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
  const model = buildTextEncoder(config, true); // expects text_projection, which CLIP-L lacks
  const sd = torch.safetensors.load(join(dir, 'weights.safetensors'));
  assert.throws(
    () => loadTextEncoderWeights(model, sd, join(dir, 'weights.safetensors')),
    (e: Error) =>
      e.message.split('\n').length === 1 &&
      /weights\.safetensors: state dict does not fit: 1 missing \(text_projection\.weight\)/.test(e.message),
  );
  model.dispose();
});
