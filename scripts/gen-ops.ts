// Generates src/torch/generated/ops.ts: one typed wrapper per overload of each operator named in
// src/torch/ops.txt, read from the live schema registry of the libtorch the addon was built
// against (Debian 1.13 or a CUDA 2.x), so wrappers always match the library.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ArgInfo, native, type OpSchema } from '../src/torch/native.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wanted = readFileSync(join(root, 'src/torch/ops.txt'), 'utf8')
  .split('\n')
  .map((l) => l.replace(/#.*/, '').trim())
  .flatMap((l) => (l ? l.split(/\s+/) : []));

const byName = new Map<string, OpSchema[]>();
for (const s of native.schemas()) {
  if (!s.name.startsWith('aten::')) continue;
  const base = s.name.slice(6);
  if (!byName.has(base)) byName.set(base, []);
  byName.get(base)?.push(s);
}

const RESERVED = new Set([
  'default',
  'in',
  'function',
  'var',
  'new',
  'delete',
  'class',
  'return',
  'switch',
  'case',
  'from',
  'with',
  'this',
  'import',
  'export',
  'const',
  'let',
  'if',
  'else',
  'for',
  'do',
  'while',
  'try',
  'catch',
  'finally',
  'throw',
  'typeof',
  'void',
  'instanceof',
  'enum',
  'super',
  'yield',
  'await',
  'break',
  'continue',
  'debugger',
  'extends',
  'null',
  'true',
  'false',
]);
const ident = (n: string) => (RESERVED.has(n) ? `${n}_` : n);

interface Conv {
  ts: string; // TypeScript type
  expr: (v: string) => string; // JS value -> addon argument
  ok: boolean;
}

function conv(a: ArgInfo): Conv {
  const opt = a.type.endsWith('?');
  const t = opt ? a.type.slice(0, -1) : a.type;
  const id = (v: string) => v;
  const nul = opt ? ' | null' : '';
  switch (t) {
    case 'Tensor':
      return { ts: `Tensor${nul}`, expr: (v) => (opt || a.default ? `${v}?.id` : `${v}.id`), ok: true };
    case 'Tensor[]':
      return { ts: 'Tensor[]', expr: (v) => `ids(${v})`, ok: true };
    case 'Tensor?[]':
      return { ts: '(Tensor | null | undefined)[]', expr: (v) => `optIds(${v})`, ok: true };
    case 'int':
    case 'SymInt':
    case 'float':
      return { ts: `number${nul}`, expr: id, ok: true };
    case 'int[]':
    case 'SymInt[]':
    case 'float[]':
      return { ts: `${a.n ? 'number | ' : ''}number[]${nul}`, expr: id, ok: true };
    case 'bool':
      return { ts: `boolean${nul}`, expr: id, ok: true };
    case 'bool[]':
      return { ts: `boolean[]${nul}`, expr: id, ok: true };
    case 'Scalar':
      return { ts: `Scalar${nul}`, expr: id, ok: true };
    case 'Scalar[]':
      return { ts: 'Scalar[]', expr: id, ok: true };
    case 'ScalarType':
      return { ts: `DType${nul}`, expr: (v) => `dt(${v})`, ok: true };
    case 'MemoryFormat':
      return { ts: `MemoryFormat${nul}`, expr: (v) => `mf(${v})`, ok: true };
    case 'Layout':
      return { ts: `number${nul}`, expr: id, ok: true };
    case 'Device':
      return { ts: `string${nul}`, expr: id, ok: true };
    case 'str':
      return { ts: `string${nul}`, expr: id, ok: true };
    case 'Generator':
      return { ts: `Generator${nul}`, expr: (v) => `${v}?.handle`, ok: true };
    default:
      return { ts: 'never', expr: id, ok: false };
  }
}

function retType(r: ArgInfo): [string, (v: string) => string] | undefined {
  switch (r.type) {
    case 'Tensor':
      return ['Tensor', (v) => `T(${v})`];
    case 'Tensor[]':
      return ['Tensor[]', (v) => `(${v} as number[]).map(T)`];
    case 'int':
    case 'SymInt':
    case 'float':
    case 'Scalar':
      return ['number', (v) => v];
    case 'bool':
      return ['boolean', (v) => v];
    case 'int[]':
    case 'SymInt[]':
    case 'float[]':
      return ['number[]', (v) => v];
    default:
      return undefined;
  }
}

const out: string[] = [];
const missing: string[] = [];
let count = 0;
for (const base of wanted) {
  const overloads = byName.get(base);
  if (!overloads) {
    missing.push(base);
    continue;
  }
  for (const s of overloads) {
    // out= variants write into a kwarg-only tensor; lyco uses the functional or in-place form.
    if (s.args.some((a) => a.kwargOnly && a.writes)) continue;
    if (/names|[Dd]imname/.test(s.overload)) continue; // named tensors are not used
    const convs = s.args.map(conv);
    // Unsupported optional arguments are left out (their default is used); required ones skip the overload.
    if (s.args.some((a, i) => !convs[i].ok && !a.default && !a.type.endsWith('?'))) continue;
    const inplace = s.returns.length === 1 && s.returns[0].type === 'Tensor' && s.args[0]?.writes === true && base.endsWith('_');
    const rets = s.returns.map(retType);
    if (!inplace && rets.some((r) => r === undefined)) continue;
    const fname = ident(s.overload ? `${base}_${s.overload}` : base);
    const params: string[] = [];
    const callArgs: string[] = [];
    let lastRequired = -1;
    s.args.forEach((a, i) => {
      if (convs[i].ok && !a.default && !a.type.endsWith('?')) lastRequired = i;
    });
    s.args.forEach((a, i) => {
      const c = convs[i];
      const name = ident(a.name);
      if (!c.ok) {
        callArgs.push('undefined');
        return;
      }
      const optional = i > lastRequired;
      params.push(`${name}${optional ? '?' : ''}: ${c.ts}`);
      callArgs.push(c.expr(name));
    });
    const v = `_${count}`;
    let body: string;
    let rt: string;
    if (inplace) {
      rt = 'Tensor';
      body = `native.call(${v}, 1, ${callArgs.join(', ')});\n  return ${ident(s.args[0].name)};`;
    } else if (s.returns.length === 0) {
      rt = 'void';
      body = `native.call(${v}, 1, ${callArgs.join(', ')});`;
    } else if (s.returns.length === 1) {
      const [t, f] = rets[0] as [string, (v: string) => string];
      rt = t;
      body = `return ${f(`native.call(${v}, 0, ${callArgs.join(', ')})`)};`;
    } else {
      rt = `[${rets.map((r) => r?.[0]).join(', ')}]`;
      const parts = rets.map((r, i) => (r as [string, (v: string) => string])[1](`r[${i}]`));
      body = `const r = native.call(${v}, 0, ${callArgs.join(', ')});\n  return [${parts.join(', ')}];`;
    }
    out.push(
      `let ${v} = -1;`,
      `/** ${s.schema.replace(/\*\//g, '*\\/')} */`,
      `export function ${fname}(${params.join(', ')}): ${rt} {`,
      `  if (${v} < 0) ${v} = native.op('${s.name}', '${s.overload}');`,
      `  ${body}`,
      '}',
      '',
    );
    count++;
  }
}

const header = `// GENERATED by scripts/gen-ops.ts from the schema registry of libtorch ${native.buildInfo().torchVersion}.
// Do not edit: add operator names to src/torch/ops.txt and run \`npm run gen\`.
/* biome-ignore-all lint: generated */
import type { DType, MemoryFormat } from '../dtype.ts';
import { dtypeCode, memoryFormatCode } from '../dtype.ts';
import type { Generator } from '../random.ts';
import { native } from '../native.ts';
import { Tensor } from '../tensor.ts';

export type Scalar = number | boolean;
const T = (id: number): Tensor => Tensor.fromId(id);
const ids = (ts: Tensor[]): number[] => ts.map((t) => t.id);
const optIds = (ts: (Tensor | null | undefined)[]): (number | undefined)[] => ts.map((t) => t?.id);
const dt = (d: DType | number | null | undefined) => (d == null ? d : dtypeCode(d));
const mf = (m: MemoryFormat | number | null | undefined) => (m == null ? m : memoryFormatCode(m));

/** Operators listed in ops.txt that this libtorch does not register. */
export const MISSING_OPS: readonly string[] = ${JSON.stringify(missing)};

`;
const dir = join(root, 'src/torch/generated');
mkdirSync(dir, { recursive: true });
const file = join(dir, 'ops.ts');
writeFileSync(`${file}.tmp`, header + out.join('\n'));
renameSync(`${file}.tmp`, file);
console.log(
  `lyco: generated ${count} operator wrappers into src/torch/generated/ops.ts${missing.length ? ` (not in this libtorch: ${missing.join(', ')})` : ''}`,
);
