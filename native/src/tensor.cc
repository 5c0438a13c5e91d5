// The tensor handle: lifetime, external-memory accounting per storage, and the per-tensor
// functions (metadata, host copies, autograd entry points).
#include <cstring>
#include <unordered_map>

#include "common.h"

namespace lyco {

namespace {
const napi_type_tag kGeneratorTag = {0x6c79636f67656e65ULL, 0x7261746f72686e64ULL};

// id = index + generation * 2^24: up to 16M live tensors, and a reused slot gets a new id.
constexpr uint64_t kIndexBits = 24;
constexpr uint64_t kIndexMask = (1ULL << kIndexBits) - 1;
constexpr size_t kAccountMinBytes = 4096;

struct Slot {
  at::Tensor tensor;
  uint32_t generation = 0;
  const void* storage_key = nullptr;
};
std::vector<Slot> g_slots;
std::vector<uint32_t> g_free;
int64_t g_live = 0;

// Views share a storage: count each StorageImpl once so V8 sees real host bytes.
struct StorageCount {
  int64_t handles = 0;
  int64_t bytes = 0;
};
std::unordered_map<const void*, StorageCount> g_storages;
int64_t g_external = 0;

// What V8 has been told. Every change of external memory above V8's soft limit (64 MB over the
// last GC's level) starts a mark-compact, and a training step's activations rise and fall by GBs:
// reported byte for byte, a full-size SD1.5 UNet step ran ~40 GCs (~0.2 s, plus marking threads
// competing with libtorch's). Reporting in steps of a quarter of what is held (at least 256 MiB)
// keeps V8 aware of leaked tensors at the cost of one or two GCs per step.
int64_t g_reported = 0;
void ReportExternal(Napi::Env env) {
  const int64_t diff = g_external - g_reported;
  const int64_t quantum = std::max<int64_t>(int64_t{256} << 20, g_reported / 4);
  if (diff >= quantum || -diff >= quantum) {
    Napi::MemoryManagement::AdjustExternalMemory(env, diff);
    g_reported = g_external;
  }
}

Slot* Lookup(double id) {
  if (!(id >= 0) || id > 9007199254740991.0) return nullptr;
  uint64_t u = static_cast<uint64_t>(id);
  uint64_t index = u & kIndexMask;
  if (index >= g_slots.size()) return nullptr;
  Slot& s = g_slots[index];
  if (s.generation != (u >> kIndexBits) || !s.tensor.defined()) return nullptr;
  return &s;
}
}  // namespace

bool IsMmapStorage(const at::Tensor& t);  // mmap.cc
int64_t LiveTensors() { return g_live; }
int64_t ExternalBytes() { return g_external; }

Napi::Value NewTensor(Napi::Env env, at::Tensor t) {
  if (!t.defined()) return env.Undefined();
  uint32_t index;
  if (!g_free.empty()) {
    index = g_free.back();
    g_free.pop_back();
  } else {
    if (g_slots.size() > kIndexMask) throw Napi::Error::New(env, "more than 16M live tensors: dispose tensors or use scope()");
    index = static_cast<uint32_t>(g_slots.size());
    g_slots.emplace_back();
  }
  Slot& s = g_slots[index];
  s.tensor = std::move(t);
  ++g_live;
  // Small storages are not reported: they cost V8 nothing worth a GC, and the map lookup
  // would be a third of a small op's time.
  if (s.tensor.has_storage() && s.tensor.storage().nbytes() >= kAccountMinBytes && s.tensor.device().is_cpu() &&
      !IsMmapStorage(s.tensor)) {
    s.storage_key = s.tensor.storage().unsafeGetStorageImpl();
    StorageCount& c = g_storages[s.storage_key];
    if (c.handles++ == 0) {
      c.bytes = static_cast<int64_t>(s.tensor.storage().nbytes());
      g_external += c.bytes;
      ReportExternal(env);
    }
  }
  double id = static_cast<double>(index) + static_cast<double>(s.generation) * static_cast<double>(1ULL << kIndexBits);
  return Napi::Number::New(env, id);
}

bool ReleaseTensor(Napi::Env env, double id) {
  Slot* s = Lookup(id);
  if (s == nullptr) return false;  // already released: a finalizer after dispose() is harmless
  s->tensor = at::Tensor();
  s->generation = (s->generation + 1) & ((1u << 28) - 1);
  g_free.push_back(static_cast<uint32_t>(s - g_slots.data()));
  --g_live;
  if (s->storage_key == nullptr) return true;
  auto it = g_storages.find(s->storage_key);
  s->storage_key = nullptr;
  if (it == g_storages.end() || --it->second.handles > 0) return true;
  g_external -= it->second.bytes;
  ReportExternal(env);
  g_storages.erase(it);
  return true;
}

at::Tensor& ToTensor(Napi::Env env, Napi::Value v, const char* what) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string(what) + ": expected a Tensor");
  Slot* s = Lookup(v.As<Napi::Number>().DoubleValue());
  if (s == nullptr) {
    throw Napi::Error::New(env, std::string(what) + ": tensor was disposed (keep() it or return it from its scope)");
  }
  return s->tensor;
}

Napi::Function GeneratorHandle::DefineClass(Napi::Env env) {
  return ObjectWrap<GeneratorHandle>::DefineClass(env, "GeneratorHandle", {});
}

GeneratorHandle::GeneratorHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<GeneratorHandle>(info) {
  napi_type_tag_object(info.Env(), info.This(), &kGeneratorTag);
  std::string dev = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "cpu";
  try {
    c10::Device device(dev);
    gen = at::globalContext().defaultGenerator(device).clone();
    if (info.Length() > 1 && info[1].IsNumber()) {
      gen.set_current_seed(static_cast<uint64_t>(info[1].As<Napi::Number>().Int64Value()));
    }
  } catch (const std::exception& e) {
    ThrowTorch(info.Env(), "Generator", e);
  }
}

at::Generator* ToGenerator(Napi::Env env, Napi::Value v) {
  bool ok = false;
  if (v.IsObject()) napi_check_object_type_tag(env, v, &kGeneratorTag, &ok);
  if (!ok) throw Napi::TypeError::New(env, "expected a Generator");
  return &GeneratorHandle::Unwrap(v.As<Napi::Object>())->gen;
}

[[noreturn]] void ThrowTorch(Napi::Env env, const std::string& prefix, const std::exception& e) {
  std::string msg;
  if (auto* ce = dynamic_cast<const c10::Error*>(&e)) {
    msg = ce->what_without_backtrace();
  } else {
    msg = e.what();
  }
  // libtorch messages may carry a trailing "Exception raised from ..." line; keep the first part.
  auto cut = msg.find("\nException raised from");
  if (cut != std::string::npos) msg.resize(cut);
  throw Napi::Error::New(env, prefix.empty() ? msg : prefix + ": " + msg);
}

namespace {

#define LYCO_TRY try {
#define LYCO_CATCH(name)                  \
  }                                       \
  catch (const Napi::Error&) {            \
    throw;                                \
  }                                       \
  catch (const std::exception& e) {       \
    ThrowTorch(info.Env(), name, e);      \
  }

Napi::Value Shape(const Napi::CallbackInfo& info) {
  at::Tensor& t = ToTensor(info.Env(), info[0], "shape");
  auto sizes = t.sizes();
  Napi::Array a = Napi::Array::New(info.Env(), sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) a.Set(static_cast<uint32_t>(i), static_cast<double>(sizes[i]));
  return a;
}

Napi::Value Strides(const Napi::CallbackInfo& info) {
  at::Tensor& t = ToTensor(info.Env(), info[0], "stride");
  auto st = t.strides();
  Napi::Array a = Napi::Array::New(info.Env(), st.size());
  for (size_t i = 0; i < st.size(); ++i) a.Set(static_cast<uint32_t>(i), static_cast<double>(st[i]));
  return a;
}

Napi::Value Dim(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(ToTensor(info.Env(), info[0], "dim").dim()));
}

Napi::Value Numel(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(ToTensor(info.Env(), info[0], "numel").numel()));
}

Napi::Value Dtype(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<int>(ToTensor(info.Env(), info[0], "dtype").scalar_type()));
}

Napi::Value DeviceOf(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), ToTensor(info.Env(), info[0], "device").device().str());
}

Napi::Value IsContiguous(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), ToTensor(info.Env(), info[0], "isContiguous").is_contiguous());
}

Napi::Value StorageId(const Napi::CallbackInfo& info) {
  at::Tensor& t = ToTensor(info.Env(), info[0], "storageId");
  if (!t.has_storage()) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), static_cast<double>(reinterpret_cast<uintptr_t>(t.storage().unsafeGetStorageImpl())));
}

Napi::Value Dispose(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), info[0].IsNumber() && ReleaseTensor(info.Env(), info[0].As<Napi::Number>().DoubleValue()));
}

// disposeMany(ids: number[]) -> how many were live; one call for a whole scope.
Napi::Value DisposeMany(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array arr = info[0].As<Napi::Array>();
  uint32_t n = arr.Length();
  uint32_t freed = 0;
  for (uint32_t i = 0; i < n; ++i) {
    Napi::Value v = arr.Get(i);
    if (v.IsNumber() && ReleaseTensor(env, v.As<Napi::Number>().DoubleValue())) ++freed;
  }
  return Napi::Number::New(env, freed);
}

Napi::Value IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !info[0].IsNumber() || Lookup(info[0].As<Napi::Number>().DoubleValue()) == nullptr);
}

Napi::Value RequiresGrad(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), ToTensor(info.Env(), info[0], "requiresGrad").requires_grad());
}

Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info) {
  at::Tensor& t = ToTensor(info.Env(), info[0], "requiresGrad");
  LYCO_TRY
  t.set_requires_grad(info[1].ToBoolean().Value());
  LYCO_CATCH("requiresGrad")
  return info.Env().Undefined();
}

Napi::Value IsLeaf(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), ToTensor(info.Env(), info[0], "isLeaf").is_leaf());
}

Napi::Value Grad(const Napi::CallbackInfo& info) {
  at::Tensor& t = ToTensor(info.Env(), info[0], "grad");
  return NewTensor(info.Env(), t.grad());
}

Napi::Value SetGrad(const Napi::CallbackInfo& info) {
  at::Tensor& t = ToTensor(info.Env(), info[0], "grad");
  LYCO_TRY
  if (info[1].IsUndefined() || info[1].IsNull()) {
    t.mutable_grad().reset();
  } else {
    at::Tensor& g = ToTensor(info.Env(), info[1], "grad");
    if (g.sizes() != t.sizes()) {
      throw Napi::Error::New(info.Env(), "grad: shape " + c10::str(g.sizes()) + " does not match tensor shape " + c10::str(t.sizes()));
    }
    t.mutable_grad() = g;
  }
  LYCO_CATCH("grad")
  return info.Env().Undefined();
}

Napi::Value RetainGrad(const Napi::CallbackInfo& info) {
  at::Tensor& t = ToTensor(info.Env(), info[0], "retainGrad");
  LYCO_TRY
  t.retain_grad();
  LYCO_CATCH("retainGrad")
  return info.Env().Undefined();
}

// backward(t, gradient?, retainGraph?, createGraph?)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  at::Tensor& t = ToTensor(info.Env(), info[0], "backward");
  at::Tensor grad;
  if (info.Length() > 1 && !info[1].IsUndefined() && !info[1].IsNull()) grad = ToTensor(info.Env(), info[1], "backward gradient");
  c10::optional<bool> retain;
  if (info.Length() > 2 && info[2].IsBoolean()) retain = info[2].As<Napi::Boolean>().Value();
  bool create = info.Length() > 3 && info[3].ToBoolean().Value();
  LYCO_TRY
  t.backward(grad, retain, create);
  LYCO_CATCH("backward")
  return info.Env().Undefined();
}

Napi::Value Item(const Napi::CallbackInfo& info) {
  at::Tensor& t = ToTensor(info.Env(), info[0], "item");
  LYCO_TRY
  at::Scalar s = t.item();
  if (s.isBoolean()) return Napi::Boolean::New(info.Env(), s.toBool());
  if (s.isIntegral(false)) return Napi::Number::New(info.Env(), static_cast<double>(s.toLong()));
  return Napi::Number::New(info.Env(), s.toDouble());
  LYCO_CATCH("item")
}

// toBuffer(t) -> ArrayBuffer holding a contiguous CPU copy of the elements.
Napi::Value ToBuffer(const Napi::CallbackInfo& info) {
  at::Tensor& t = ToTensor(info.Env(), info[0], "data");
  LYCO_TRY
  at::Tensor c = t.detach().to(at::kCPU).contiguous();
  size_t n = c.nbytes();
  Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(info.Env(), n);
  if (n) std::memcpy(buf.Data(), c.data_ptr(), n);
  return buf;
  LYCO_CATCH("data")
}

// fromBuffer(view: ArrayBufferView, shape: number[], dtype: number, device?: string)
Napi::Value FromBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() && !info[0].IsDataView() && !info[0].IsBuffer()) {
    throw Napi::TypeError::New(env, "fromBuffer: expected a TypedArray");
  }
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  const uint8_t* data = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  size_t bytes = ta.ByteLength();
  Napi::Array shapeArr = info[1].As<Napi::Array>();
  std::vector<int64_t> shape(shapeArr.Length());
  for (uint32_t i = 0; i < shapeArr.Length(); ++i) shape[i] = shapeArr.Get(i).As<Napi::Number>().Int64Value();
  auto dtype = static_cast<at::ScalarType>(info[2].As<Napi::Number>().Int32Value());
  LYCO_TRY
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
  if (t.nbytes() != bytes) {
    throw Napi::RangeError::New(env, "fromBuffer: " + std::to_string(bytes) + " bytes given for shape " + c10::str(t.sizes()) + " of " +
                                         c10::toString(dtype) + " (" + std::to_string(t.nbytes()) + " bytes needed)");
  }
  if (bytes) std::memcpy(t.data_ptr(), data, bytes);
  if (info.Length() > 3 && info[3].IsString()) {
    c10::Device dev(info[3].As<Napi::String>().Utf8Value());
    if (!dev.is_cpu()) t = t.to(dev);
  }
  return NewTensor(env, std::move(t));
  LYCO_CATCH("fromBuffer")
}

Napi::Value LiveHandles(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(g_live)); }
Napi::Value External(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(g_external)); }

}  // namespace

void RegisterTensorFns(Napi::Env env, Napi::Object exports) {
  exports.Set("Generator", GeneratorHandle::DefineClass(env));
  struct {
    const char* name;
    Napi::Function::Callback fn;
  } fns[] = {
      {"shape", Shape}, {"strides", Strides}, {"dim", Dim}, {"numel", Numel},
      {"dtype", Dtype}, {"device", DeviceOf}, {"isContiguous", IsContiguous}, {"storageId", StorageId},
      {"dispose", Dispose}, {"disposeMany", DisposeMany}, {"isDisposed", IsDisposed}, {"requiresGrad", RequiresGrad},
      {"setRequiresGrad", SetRequiresGrad}, {"isLeaf", IsLeaf}, {"grad", Grad}, {"setGrad", SetGrad},
      {"retainGrad", RetainGrad}, {"backward", Backward}, {"item", Item}, {"toBuffer", ToBuffer},
      {"fromBuffer", FromBuffer}, {"liveHandles", LiveHandles}, {"externalBytes", External},
  };
  for (auto& f : fns) exports.Set(f.name, Napi::Function::New(env, f.fn, f.name));
}

}  // namespace lyco
