// The generic call path: any registered ATen operator, found by name and overload through
// the c10 dispatcher and called boxed, with JS arguments converted by the operator's schema.
// Autograd and autocast work because the dispatcher routes through their keys.
#include <sstream>

#include "common.h"

namespace lyco {

namespace {

enum class Kind : uint8_t {
  Tensor, TensorList, OptTensorList, Int, IntList, Float, FloatList, Bool, BoolList,
  Scalar, ScalarList, Device, String, Generator, Unsupported
};

struct ArgSpec {
  std::string name;
  Kind kind;
  bool optional;
  int32_t n;  // fixed list length (int[2]) or 0
  c10::optional<c10::IValue> default_value;
  std::string type_str;
};

// Unboxed fast paths for the commonest signature shapes (not per op): elementwise and matmul
// ops are dominated by call overhead, and the boxed IValue stack is most of it.
using T = at::Tensor;
using S = at::Scalar;
using SigT = T(const T&);
using SigTT = T(const T&, const T&);
using SigTS = T(const T&, const S&);
using SigTTS = T(const T&, const T&, const S&);
using SigTSS = T(const T&, const S&, const S&);
using SigIT = T&(T&, const T&);
using SigIS = T&(T&, const S&);
using SigITS = T&(T&, const T&, const S&);
enum class Fast : uint8_t { None, T, TT, TS, TTS, TSS, IT, IS, ITS };

struct OpEntry {
  c10::OperatorHandle handle;
  std::string label;  // aten::name.overload, for messages
  std::vector<ArgSpec> args;
  Fast fast = Fast::None;
  c10::optional<c10::TypedOperatorHandle<SigT>> t;
  c10::optional<c10::TypedOperatorHandle<SigTT>> tt;
  c10::optional<c10::TypedOperatorHandle<SigTS>> ts;
  c10::optional<c10::TypedOperatorHandle<SigTTS>> tts;
  c10::optional<c10::TypedOperatorHandle<SigTSS>> tss;
  c10::optional<c10::TypedOperatorHandle<SigIT>> it;
  c10::optional<c10::TypedOperatorHandle<SigIS>> is;
  c10::optional<c10::TypedOperatorHandle<SigITS>> its;
};

std::vector<OpEntry> g_ops;

Kind KindOf(const c10::TypePtr& t) {
  using c10::TypeKind;
  switch (t->kind()) {
    case TypeKind::TensorType: return Kind::Tensor;
    case TypeKind::IntType:
    case TypeKind::SymIntType:
    case TypeKind::ScalarTypeType:
    case TypeKind::LayoutType:
    case TypeKind::MemoryFormatType: return Kind::Int;
    case TypeKind::FloatType: return Kind::Float;
    case TypeKind::BoolType: return Kind::Bool;
    case TypeKind::NumberType: return Kind::Scalar;
    case TypeKind::DeviceObjType: return Kind::Device;
    case TypeKind::StringType: return Kind::String;
    case TypeKind::GeneratorType: return Kind::Generator;
    case TypeKind::ListType: {
      const c10::TypePtr& e = t->expectRef<c10::ListType>().getElementType();
      switch (e->kind()) {
        case TypeKind::TensorType: return Kind::TensorList;
        case TypeKind::OptionalType:
          return e->expectRef<c10::OptionalType>().getElementType()->kind() == TypeKind::TensorType ? Kind::OptTensorList : Kind::Unsupported;
        case TypeKind::IntType:
        case TypeKind::SymIntType: return Kind::IntList;
        case TypeKind::FloatType: return Kind::FloatList;
        case TypeKind::BoolType: return Kind::BoolList;
        case TypeKind::NumberType: return Kind::ScalarList;
        default: return Kind::Unsupported;
      }
    }
    default: return Kind::Unsupported;
  }
}

ArgSpec SpecOf(const c10::Argument& a) {
  ArgSpec s;
  s.name = a.name();
  c10::TypePtr t = a.real_type();
  s.optional = t->kind() == c10::TypeKind::OptionalType;
  if (s.optional) t = t->expectRef<c10::OptionalType>().getElementType();
  s.kind = KindOf(t);
  s.n = a.N() ? *a.N() : 0;
  s.default_value = a.default_value();
  s.type_str = a.real_type()->str();
  return s;
}

int64_t ToInt(Napi::Env env, Napi::Value v, const OpEntry& op, const ArgSpec& a) {
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (d != static_cast<double>(static_cast<int64_t>(d))) {
      throw Napi::TypeError::New(env, op.label + ": argument '" + a.name + "' must be an integer, got " + std::to_string(d));
    }
    return static_cast<int64_t>(d);
  }
  if (v.IsBigInt()) {
    bool lossless = true;
    return v.As<Napi::BigInt>().Int64Value(&lossless);
  }
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? 1 : 0;
  throw Napi::TypeError::New(env, op.label + ": argument '" + a.name + "' (" + a.type_str + ") must be a number");
}

double ToDouble(Napi::Env env, Napi::Value v, const OpEntry& op, const ArgSpec& a) {
  if (v.IsNumber()) return v.As<Napi::Number>().DoubleValue();
  throw Napi::TypeError::New(env, op.label + ": argument '" + a.name + "' (" + a.type_str + ") must be a number");
}

c10::Scalar ToScalar(Napi::Env env, Napi::Value v, const OpEntry& op, const ArgSpec& a) {
  if (v.IsNumber()) {
    // Integer-valued numbers become int Scalars so integer tensors stay integer, as in Python.
    double d = v.As<Napi::Number>().DoubleValue();
    if (std::abs(d) < 9007199254740992.0 && d == static_cast<double>(static_cast<int64_t>(d))) return c10::Scalar(static_cast<int64_t>(d));
    return c10::Scalar(d);
  }
  if (v.IsBoolean()) return c10::Scalar(v.As<Napi::Boolean>().Value());
  if (v.IsBigInt()) {
    bool lossless = true;
    return c10::Scalar(v.As<Napi::BigInt>().Int64Value(&lossless));
  }
  throw Napi::TypeError::New(env, op.label + ": argument '" + a.name + "' (Scalar) must be a number or boolean");
}

Napi::Array ToArray(Napi::Env env, Napi::Value v, const OpEntry& op, const ArgSpec& a) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, op.label + ": argument '" + a.name + "' (" + a.type_str + ") must be an array");
  return v.As<Napi::Array>();
}

c10::IValue Convert(Napi::Env env, Napi::Value v, const OpEntry& op, const ArgSpec& a) {
  if (v.IsUndefined()) {
    if (a.default_value) return *a.default_value;
    if (a.optional) return c10::IValue();
    throw Napi::TypeError::New(env, op.label + ": missing required argument '" + a.name + "' (" + a.type_str + ")");
  }
  if (v.IsNull()) {
    if (a.optional) return c10::IValue();
    throw Napi::TypeError::New(env, op.label + ": argument '" + a.name + "' (" + a.type_str + ") cannot be null");
  }
  switch (a.kind) {
    case Kind::Tensor: {
      return ToTensor(env, v, op.label.c_str());
    }
    case Kind::TensorList: {
      Napi::Array arr = ToArray(env, v, op, a);
      c10::List<at::Tensor> list;
      list.reserve(arr.Length());
      for (uint32_t i = 0; i < arr.Length(); ++i) list.push_back(ToTensor(env, arr.Get(i), op.label.c_str()));
      return list;
    }
    case Kind::OptTensorList: {
      Napi::Array arr = ToArray(env, v, op, a);
      c10::List<c10::optional<at::Tensor>> list;
      list.reserve(arr.Length());
      for (uint32_t i = 0; i < arr.Length(); ++i) {
        Napi::Value e = arr.Get(i);
        if (e.IsUndefined() || e.IsNull()) {
          list.push_back(c10::nullopt);
        } else {
          list.push_back(ToTensor(env, e, op.label.c_str()));
        }
      }
      return list;
    }
    case Kind::Int: return ToInt(env, v, op, a);
    case Kind::IntList: {
      std::vector<int64_t> out;
      if (v.IsNumber() || v.IsBigInt()) {
        // Python's int[2] accepts a single int and repeats it (stride=1 -> [1, 1]).
        out.assign(a.n > 0 ? a.n : 1, ToInt(env, v, op, a));
      } else {
        Napi::Array arr = ToArray(env, v, op, a);
        out.reserve(arr.Length());
        for (uint32_t i = 0; i < arr.Length(); ++i) out.push_back(ToInt(env, arr.Get(i), op, a));
      }
      return c10::IValue(out);
    }
    case Kind::Float: return ToDouble(env, v, op, a);
    case Kind::FloatList: {
      std::vector<double> out;
      if (v.IsNumber()) {
        out.assign(a.n > 0 ? a.n : 1, ToDouble(env, v, op, a));
      } else {
        Napi::Array arr = ToArray(env, v, op, a);
        for (uint32_t i = 0; i < arr.Length(); ++i) out.push_back(ToDouble(env, arr.Get(i), op, a));
      }
      return c10::IValue(out);
    }
    case Kind::Bool:
      if (!v.IsBoolean()) throw Napi::TypeError::New(env, op.label + ": argument '" + a.name + "' must be a boolean");
      return v.As<Napi::Boolean>().Value();
    case Kind::BoolList: {
      Napi::Array arr = ToArray(env, v, op, a);
      c10::List<bool> list;
      for (uint32_t i = 0; i < arr.Length(); ++i) list.push_back(arr.Get(i).ToBoolean().Value());
      return list;
    }
    case Kind::Scalar: return ToScalar(env, v, op, a);
    case Kind::ScalarList: {
      Napi::Array arr = ToArray(env, v, op, a);
      c10::List<at::Scalar> list;
      for (uint32_t i = 0; i < arr.Length(); ++i) list.push_back(ToScalar(env, arr.Get(i), op, a));
      return list;
    }
    case Kind::Device:
      if (!v.IsString()) throw Napi::TypeError::New(env, op.label + ": argument '" + a.name + "' must be a device string like 'cpu' or 'cuda:0'");
      return c10::Device(v.As<Napi::String>().Utf8Value());
    case Kind::String:
      if (!v.IsString()) throw Napi::TypeError::New(env, op.label + ": argument '" + a.name + "' must be a string");
      return v.As<Napi::String>().Utf8Value();
    case Kind::Generator: return *ToGenerator(env, v);
    case Kind::Unsupported: break;
  }
  throw Napi::TypeError::New(env, op.label + ": argument '" + a.name + "' has type " + a.type_str + ", which lyco cannot pass from JavaScript");
}

std::string DescribeArgs(Napi::Env env, const OpEntry& op, const Napi::CallbackInfo& info) {
  std::ostringstream os;
  for (size_t i = 2; i < info.Length(); ++i) {
    if (i > 2) os << ", ";
    Napi::Value v = info[i];
    if (i - 2 < op.args.size() && op.args[i - 2].kind == Kind::Tensor && v.IsNumber()) {
      try {
        const at::Tensor& t = ToTensor(env, v, "");
        os << c10::toString(t.scalar_type()) << t.sizes();
        if (!t.device().is_cpu()) os << "@" << t.device();
      } catch (const Napi::Error&) {
        os << "<disposed>";
      }
    } else if (v.IsUndefined()) {
      os << "_";
    } else if (v.IsArray()) {
      os << "[" << v.As<Napi::Array>().Length() << " items]";
    } else {
      os << v.ToString().Utf8Value();
    }
  }
  return os.str();
}

void ClassifyFast(OpEntry& e) {
  const auto& schema = e.handle.schema();
  if (schema.returns().size() != 1 || schema.returns()[0].type()->kind() != c10::TypeKind::TensorType || schema.is_vararg()) return;
  std::string code;
  for (const auto& a : e.args) {
    if (a.optional) return;
    if (a.kind == Kind::Tensor) code += 'T';
    else if (a.kind == Kind::Scalar) code += 'S';
    else return;
  }
  bool inplace = !e.args.empty() && schema.arguments()[0].alias_info() && schema.arguments()[0].alias_info()->isWrite();
  // typed<>() checks the C++ signature the kernels were registered with; a mismatch keeps the boxed path.
  try {
    if (!inplace && code == "T") { e.t = e.handle.typed<SigT>(); e.fast = Fast::T; }
    else if (!inplace && code == "TT") { e.tt = e.handle.typed<SigTT>(); e.fast = Fast::TT; }
    else if (!inplace && code == "TS") { e.ts = e.handle.typed<SigTS>(); e.fast = Fast::TS; }
    else if (!inplace && code == "TTS") { e.tts = e.handle.typed<SigTTS>(); e.fast = Fast::TTS; }
    else if (!inplace && code == "TSS") { e.tss = e.handle.typed<SigTSS>(); e.fast = Fast::TSS; }
    else if (inplace && code == "TT") { e.it = e.handle.typed<SigIT>(); e.fast = Fast::IT; }
    else if (inplace && code == "TS") { e.is = e.handle.typed<SigIS>(); e.fast = Fast::IS; }
    else if (inplace && code == "TTS") { e.its = e.handle.typed<SigITS>(); e.fast = Fast::ITS; }
  } catch (const std::exception&) {
    e.fast = Fast::None;
  }
}

const at::Tensor& FastTensor(Napi::Env env, const Napi::CallbackInfo& info, size_t i, const OpEntry& op) {
  if (i + 2 >= info.Length() || info[i + 2].IsUndefined()) {
    throw Napi::TypeError::New(env, op.label + ": missing required argument '" + op.args[i].name + "' (Tensor)");
  }
  return ToTensor(env, info[i + 2], op.label.c_str());
}

at::Scalar FastScalar(Napi::Env env, const Napi::CallbackInfo& info, size_t i, const OpEntry& op) {
  const ArgSpec& a = op.args[i];
  if (i + 2 >= info.Length() || info[i + 2].IsUndefined()) {
    if (a.default_value) return a.default_value->toScalar();
    throw Napi::TypeError::New(env, op.label + ": missing required argument '" + a.name + "' (Scalar)");
  }
  return ToScalar(env, info[i + 2], op, a);
}

Napi::Value CallFast(Napi::Env env, const Napi::CallbackInfo& info, const OpEntry& op, uint32_t flags) {
  at::Tensor r;
  try {
    switch (op.fast) {
      case Fast::T: r = op.t->call(FastTensor(env, info, 0, op)); break;
      case Fast::TT: r = op.tt->call(FastTensor(env, info, 0, op), FastTensor(env, info, 1, op)); break;
      case Fast::TS: r = op.ts->call(FastTensor(env, info, 0, op), FastScalar(env, info, 1, op)); break;
      case Fast::TTS: r = op.tts->call(FastTensor(env, info, 0, op), FastTensor(env, info, 1, op), FastScalar(env, info, 2, op)); break;
      case Fast::TSS: r = op.tss->call(FastTensor(env, info, 0, op), FastScalar(env, info, 1, op), FastScalar(env, info, 2, op)); break;
      case Fast::IT: op.it->call(const_cast<at::Tensor&>(FastTensor(env, info, 0, op)), FastTensor(env, info, 1, op)); break;
      case Fast::IS: op.is->call(const_cast<at::Tensor&>(FastTensor(env, info, 0, op)), FastScalar(env, info, 1, op)); break;
      case Fast::ITS:
        op.its->call(const_cast<at::Tensor&>(FastTensor(env, info, 0, op)), FastTensor(env, info, 1, op), FastScalar(env, info, 2, op));
        break;
      case Fast::None: break;
    }
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    ThrowTorch(env, op.label + "(" + DescribeArgs(env, op, info) + ")", e);
  }
  if ((flags & 1) || !r.defined()) return env.Undefined();
  return NewTensor(env, std::move(r));
}

// op(name, overload) -> id for call(). Resolving once keeps string lookups off the hot path.
Napi::Value Op(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  std::string overload = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  if (name.find("::") == std::string::npos) name = "aten::" + name;
  auto handle = c10::Dispatcher::singleton().findSchema({name, overload});
  if (!handle) {
    throw Napi::Error::New(env, "no operator " + name + (overload.empty() ? "" : "." + overload) + " is registered in this libtorch");
  }
  OpEntry e{*handle, name + (overload.empty() ? "" : "." + overload), {}};
  for (const auto& a : handle->schema().arguments()) e.args.push_back(SpecOf(a));
  ClassifyFast(e);
  g_ops.push_back(std::move(e));
  return Napi::Number::New(env, static_cast<double>(g_ops.size() - 1));
}

// call(id, flags, ...args): positional arguments in schema order; undefined takes the default.
// flags bit 0: discard the result (in-place ops, whose result is the first argument).
Napi::Value Call(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  if (id >= g_ops.size()) throw Napi::RangeError::New(env, "call: unknown op id");
  const OpEntry& op = g_ops[id];
  uint32_t flags = info[1].As<Napi::Number>().Uint32Value();
  size_t given = info.Length() - 2;
  if (given > op.args.size()) {
    throw Napi::TypeError::New(env, op.label + ": takes " + std::to_string(op.args.size()) + " arguments, " + std::to_string(given) + " given");
  }
  if (op.fast != Fast::None) return CallFast(env, info, op, flags);
  torch::jit::Stack stack;
  stack.reserve(op.args.size());
  Napi::Value undef = env.Undefined();
  for (size_t i = 0; i < op.args.size(); ++i) {
    stack.emplace_back(Convert(env, i < given ? info[i + 2] : undef, op, op.args[i]));
  }
  try {
    op.handle.callBoxed(&stack);
  } catch (const std::exception& e) {
    ThrowTorch(env, op.label + "(" + DescribeArgs(env, op, info) + ")", e);
  }
  if ((flags & 1) || stack.empty()) return env.Undefined();
  if (stack.size() == 1) return FromIValue(env, stack[0]);
  Napi::Array out = Napi::Array::New(env, stack.size());
  for (size_t i = 0; i < stack.size(); ++i) out.Set(static_cast<uint32_t>(i), FromIValue(env, stack[i]));
  return out;
}

Napi::Value ArgJson(Napi::Env env, const c10::Argument& a) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", a.name());
  o.Set("type", a.real_type()->str());
  if (a.N()) o.Set("n", *a.N());
  if (a.default_value()) {
    std::ostringstream os;
    os << *a.default_value();
    o.Set("default", os.str());
  }
  if (a.kwarg_only()) o.Set("kwargOnly", true);
  if (a.alias_info() && a.alias_info()->isWrite()) o.Set("writes", true);
  return o;
}

// schemas() -> every registered operator with its arguments and returns (for codegen).
Napi::Value Schemas(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto names = c10::Dispatcher::singleton().getAllOpNames();
  Napi::Array out = Napi::Array::New(env);
  uint32_t k = 0;
  for (const auto& n : names) {
    auto h = c10::Dispatcher::singleton().findSchema(n);
    if (!h) continue;
    const auto& s = h->schema();
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", n.name);
    o.Set("overload", n.overload_name);
    Napi::Array args = Napi::Array::New(env, s.arguments().size());
    for (size_t i = 0; i < s.arguments().size(); ++i) args.Set(static_cast<uint32_t>(i), ArgJson(env, s.arguments()[i]));
    o.Set("args", args);
    Napi::Array rets = Napi::Array::New(env, s.returns().size());
    for (size_t i = 0; i < s.returns().size(); ++i) rets.Set(static_cast<uint32_t>(i), ArgJson(env, s.returns()[i]));
    o.Set("returns", rets);
    std::ostringstream os;
    os << s;
    o.Set("schema", os.str());
    out.Set(k++, o);
  }
  return out;
}

}  // namespace

Napi::Value FromIValue(Napi::Env env, const c10::IValue& v) {
  if (v.isTensor()) return NewTensor(env, v.toTensor());
  if (v.isNone()) return env.Undefined();
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
#if TORCH_VERSION_MAJOR >= 2
  if (v.isSymInt()) return Napi::Number::New(env, static_cast<double>(v.toSymInt().expect_int()));
  if (v.isSymFloat()) return Napi::Number::New(env, v.toSymFloat().expect_float());
#endif
  if (v.isString()) return Napi::String::New(env, v.toStringRef());
  if (v.isDevice()) return Napi::String::New(env, v.toDevice().str());
  if (v.isScalar()) {
    at::Scalar s = v.toScalar();
    if (s.isBoolean()) return Napi::Boolean::New(env, s.toBool());
    if (s.isIntegral(false)) return Napi::Number::New(env, static_cast<double>(s.toLong()));
    return Napi::Number::New(env, s.toDouble());
  }
  if (v.isTensorList()) {
    auto list = v.toTensorList();
    Napi::Array a = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); ++i) a.Set(static_cast<uint32_t>(i), NewTensor(env, list.get(i)));
    return a;
  }
  if (v.isIntList()) {
    auto list = v.toIntList();
    Napi::Array a = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); ++i) a.Set(static_cast<uint32_t>(i), static_cast<double>(list.get(i)));
    return a;
  }
  if (v.isDoubleList()) {
    auto list = v.toDoubleList();
    Napi::Array a = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); ++i) a.Set(static_cast<uint32_t>(i), list.get(i));
    return a;
  }
  if (v.isList()) {
    auto list = v.toListRef();
    Napi::Array a = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); ++i) a.Set(static_cast<uint32_t>(i), FromIValue(env, list[i]));
    return a;
  }
  if (v.isTuple()) {
    const auto& el = v.toTupleRef().elements();
    Napi::Array a = Napi::Array::New(env, el.size());
    for (size_t i = 0; i < el.size(); ++i) a.Set(static_cast<uint32_t>(i), FromIValue(env, el[i]));
    return a;
  }
  throw Napi::TypeError::New(env, std::string("lyco cannot return a value of type ") + v.tagKind() + " to JavaScript");
}

void RegisterDispatch(Napi::Env env, Napi::Object exports) {
  exports.Set("op", Napi::Function::New(env, Op, "op"));
  exports.Set("call", Napi::Function::New(env, Call, "call"));
  exports.Set("schemas", Napi::Function::New(env, Schemas, "schemas"));
}

}  // namespace lyco
