// Self time per op name from a chrome trace written by torch.profile (libtorch's legacy
// profiler): where a step's time goes, for comparing lyco with torch.autograd.profiler's table.
//   node --import tsx bench/models/profile-summary.ts trace.json [rows]
import { readFileSync } from 'node:fs';

interface Ev {
  name: string;
  ph: string;
  ts: number;
  dur?: number;
  tid: number | string;
}
const [file, rowsArg] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-summary.ts TRACE.json [ROWS]');
const raw = JSON.parse(readFileSync(file, 'utf8'));
const events: Ev[] = (Array.isArray(raw) ? raw : raw.traceEvents).filter((e: Ev) => e.ph === 'X' && e.dur !== undefined);
// Self time: an event's duration minus that of events nested directly inside it on its thread.
const byThread = new Map<string, Ev[]>();
for (const e of events) {
  const k = String(e.tid);
  byThread.set(k, [...(byThread.get(k) ?? []), e]);
}
const self = new Map<string, { us: number; calls: number }>();
for (const evs of byThread.values()) {
  evs.sort((a, b) => a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0));
  const stack: { e: Ev; child: number }[] = [];
  const close = (until: number) => {
    while (stack.length && stack[stack.length - 1].e.ts + (stack[stack.length - 1].e.dur ?? 0) <= until) {
      const top = stack.pop() as { e: Ev; child: number };
      const s = self.get(top.e.name) ?? { us: 0, calls: 0 };
      s.us += (top.e.dur ?? 0) - top.child;
      s.calls++;
      self.set(top.e.name, s);
      if (stack.length) stack[stack.length - 1].child += top.e.dur ?? 0;
    }
  };
  for (const e of evs) {
    close(e.ts);
    stack.push({ e, child: 0 });
  }
  close(Number.POSITIVE_INFINITY);
}
const rows = [...self.entries()].sort((a, b) => b[1].us - a[1].us);
const total = rows.reduce((a, [, s]) => a + s.us, 0);
console.log(`self time total ${(total / 1e3).toFixed(0)} ms`);
for (const [name, s] of rows.slice(0, Number(rowsArg ?? 25))) {
  console.log(
    `${(s.us / 1e3).toFixed(1).padStart(9)} ms ${((100 * s.us) / total).toFixed(1).padStart(5)}% ${String(s.calls).padStart(6)}  ${name}`,
  );
}
