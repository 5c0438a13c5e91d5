// bench/engine/memory: RSS over a 10,000-step forward/backward/update loop inside scope()
// (the same loop as test/torch/lifetime.test.ts, printing the figures).
//   node --expose-gc --import tsx bench/engine/memory.ts [steps]
import { torch } from '../../src/index.ts';

const steps = Number(process.argv[2] ?? 10_000);
torch.manualSeed(0);
const w1 = torch.randn([64, 32], { requiresGrad: true }).keep();
const w2 = torch.randn([1, 64], { requiresGrad: true }).keep();
const mib = (b: number) => (b / 2 ** 20).toFixed(1);
const t0 = performance.now();
let rss100 = 0;
for (let i = 1; i <= steps; i++) {
  torch.scope(() => {
    const x = torch.randn([16, 32]);
    const y = torch.F.silu(torch.F.linear(x, w1)).matmul(w2.t()).square().mean();
    y.backward();
    torch.noGrad(() => {
      for (const p of [w1, w2]) {
        p.sub_(p.grad as torch.Tensor, 1e-4);
        p.grad = undefined;
      }
    });
  });
  if (i === 100 || i % 2000 === 0) {
    global.gc?.();
    const rss = process.memoryUsage().rss;
    if (i === 100) rss100 = rss;
    console.log(
      `step ${String(i).padStart(6)}  RSS ${mib(rss)} MiB  (${((rss / rss100 - 1) * 100).toFixed(2)}% vs step 100)  live tensors ${torch.liveTensors()}`,
    );
  }
}
console.log(`${steps} steps in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
