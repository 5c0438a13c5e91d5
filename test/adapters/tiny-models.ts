// A tiny U-Net / CLIP stand-in with real layers and the class names kohya and LyCORIS match.
import { Conv2d, Linear, Module, ModuleList } from '../../src/nn/index.ts';

class Attention extends Module {
  constructor(c: number) {
    super();
    this.module('to_q', new Linear(c, c, false));
    this.module('to_k', new Linear(c, c, false));
    this.module('to_v', new Linear(c, c, false));
    this.module('to_out', new ModuleList([new Linear(c, c)]));
  }
}
class GEGLU extends Module {
  constructor(c: number) {
    super();
    this.module('proj', new Linear(c, 8 * c));
  }
}
class Dropout extends Module {}
class FeedForward extends Module {
  constructor(c: number) {
    super();
    this.module('net', new ModuleList<Module>([new GEGLU(c), new Dropout(), new Linear(4 * c, c)]));
  }
}
export class Transformer2DModel extends Module {
  constructor(c: number) {
    super();
    this.module('proj_in', new Conv2d(c, c, 1));
    const block = new (class BasicTransformerBlock extends Module {
      constructor() {
        super();
        this.module('attn1', new Attention(c));
        this.module('ff', new FeedForward(c));
      }
    })();
    this.module('transformer_blocks', new ModuleList([block]));
    this.module('proj_out', new Conv2d(c, c, 1));
  }
}
export class ResnetBlock2D extends Module {
  constructor(cin: number, cout: number) {
    super();
    this.module('conv1', new Conv2d(cin, cout, 3, { padding: 1 }));
    this.module('time_emb_proj', new Linear(16, cout));
    this.module('conv2', new Conv2d(cout, cout, 3, { padding: 1 }));
    if (cin !== cout) this.module('conv_shortcut', new Conv2d(cin, cout, 1));
  }
}
export class TinyUNet extends Module {
  constructor() {
    super();
    this.module('conv_in', new Conv2d(4, 8, 3, { padding: 1 }));
    const down = new (class DownBlock extends Module {
      constructor() {
        super();
        this.module('resnets', new ModuleList([new ResnetBlock2D(8, 12)]));
        this.module('attentions', new ModuleList([new Transformer2DModel(12)]));
      }
    })();
    this.module('down_blocks', new ModuleList([down]));
  }
}
class CLIPAttention extends Module {
  constructor(c: number) {
    super();
    for (const n of ['k_proj', 'v_proj', 'q_proj', 'out_proj']) this.module(n, new Linear(c, c));
  }
}
class CLIPMLP extends Module {
  constructor(c: number) {
    super();
    this.module('fc1', new Linear(c, 2 * c));
    this.module('fc2', new Linear(2 * c, c));
  }
}
export class TinyCLIP extends Module {
  constructor() {
    super();
    const layer = new (class CLIPEncoderLayer extends Module {
      constructor() {
        super();
        this.module('self_attn', new CLIPAttention(8));
        this.module('mlp', new CLIPMLP(8));
      }
    })();
    const enc = new (class CLIPEncoder extends Module {
      constructor() {
        super();
        this.module('layers', new ModuleList([layer]));
      }
    })();
    const tm = new (class CLIPTextTransformer extends Module {
      constructor() {
        super();
        this.module('encoder', enc);
      }
    })();
    this.module('text_model', tm);
  }
}
