// The generic path: any registered operator by name and overload, for ops that have no
// generated wrapper (or exist only in some libtorch versions). Tensors in and out are converted
// by the operator's schema.
import { native, type OpSchema } from './native.ts';
import { Tensor } from './tensor.ts';

let schemaIndex: Map<string, OpSchema> | undefined;
const ids = new Map<string, number>();

function schemaOf(name: string, overload: string): OpSchema | undefined {
  if (!schemaIndex) {
    schemaIndex = new Map();
    for (const s of native.schemas()) schemaIndex.set(`${s.name}.${s.overload}`, s);
  }
  return schemaIndex.get(`${qualify(name)}.${overload}`);
}

const qualify = (name: string) => (name.includes('::') ? name : `aten::${name}`);

export function hasOp(name: string, overload = ''): boolean {
  return schemaOf(name, overload) !== undefined;
}

function toArg(v: unknown): unknown {
  if (v instanceof Tensor) return v.id;
  if (Array.isArray(v)) return v.map(toArg);
  return v;
}

function fromResult(v: unknown, type: string): unknown {
  if (type === 'Tensor' || type === 'Tensor?') return v === undefined ? undefined : Tensor.fromId(v as number);
  if (type === 'Tensor[]') return (v as number[]).map((id) => Tensor.fromId(id));
  return v;
}

/** Calls `aten::name.overload` with positional arguments (undefined takes the schema default). */
export function callOp(name: string, overload: string, ...args: unknown[]): unknown {
  const s = schemaOf(name, overload);
  if (!s) throw new Error(`no operator ${qualify(name)}${overload ? `.${overload}` : ''} in this libtorch`);
  const key = `${s.name}.${overload}`;
  let id = ids.get(key);
  if (id === undefined) {
    id = native.op(s.name, overload);
    ids.set(key, id);
  }
  const r = native.call(id, 0, ...args.map(toArg));
  if (s.returns.length === 1) return fromResult(r, s.returns[0].type);
  if (s.returns.length === 0) return undefined;
  return (r as unknown[]).map((x, i) => fromResult(x, s.returns[i].type));
}

/** Every registered operator's schema (for tools and codegen). */
export function schemas(): OpSchema[] {
  return native.schemas();
}
