// Process-wide state: threads, seeds, grad mode, autocast, CUDA queries, build info.
#include <fstream>
#include <memory>

#include <torch/csrc/autograd/profiler_legacy.h>

#include "common.h"

namespace lyco {

namespace {

const char* malloc_mode = "system";

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1) throw Napi::RangeError::New(info.Env(), "setNumThreads: need at least 1 thread");
  at::set_num_threads(n);
  return info.Env().Undefined();
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), at::get_num_threads()); }

Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  at::manual_seed(static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value()));
  return info.Env().Undefined();
}

Napi::Value GeneratorSeed(const Napi::CallbackInfo& info) {
  at::Generator* g = ToGenerator(info.Env(), info[0]);
  if (info.Length() > 1 && info[1].IsNumber()) {
    std::lock_guard<std::mutex> lock(g->mutex());
    g->set_current_seed(static_cast<uint64_t>(info[1].As<Napi::Number>().Int64Value()));
  }
  return Napi::Number::New(info.Env(), static_cast<double>(g->current_seed()));
}

// getRngState(generator?) -> uint8 tensor id; setRngState(id, generator?). The default CPU
// generator when none is given. Checkpoints store it so a resumed run draws the same noise.
at::Generator GeneratorArg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() > i && info[i].IsObject()) return *ToGenerator(info.Env(), info[i]);
  return at::globalContext().defaultGenerator(c10::Device(c10::kCPU));
}

Napi::Value GetRngState(const Napi::CallbackInfo& info) {
  at::Generator g = GeneratorArg(info, 0);
  try {
    std::lock_guard<std::mutex> lock(g.mutex());
    return NewTensor(info.Env(), at::Tensor(g.get_state()));
  } catch (const std::exception& e) {
    ThrowTorch(info.Env(), "getRngState", e);
  }
}

Napi::Value SetRngState(const Napi::CallbackInfo& info) {
  at::Tensor& state = ToTensor(info.Env(), info[0], "setRngState");
  at::Generator g = GeneratorArg(info, 1);
  try {
    std::lock_guard<std::mutex> lock(g.mutex());
    g.set_state(state);
  } catch (const std::exception& e) {
    ThrowTorch(info.Env(), "setRngState", e);
  }
  return info.Env().Undefined();
}

Napi::Value GradEnabled(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled()); }

Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  bool prev = c10::GradMode::is_enabled();
  c10::GradMode::set_enabled(info[0].ToBoolean().Value());
  return Napi::Boolean::New(info.Env(), prev);
}

// setAutocast(deviceType: 'cpu'|'cuda', enabled, dtype) -> [prevEnabled, prevDtype]
Napi::Value SetAutocast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dev = info[0].As<Napi::String>().Utf8Value();
  bool enabled = info[1].ToBoolean().Value();
  auto dtype = static_cast<at::ScalarType>(info[2].As<Napi::Number>().Int32Value());
  bool cuda = dev == "cuda";
  if (!cuda && dev != "cpu") throw Napi::Error::New(env, "autocast: device type must be 'cpu' or 'cuda'");
  bool prev_enabled;
  at::ScalarType prev_dtype;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  at::DeviceType dt = cuda ? at::kCUDA : at::kCPU;
  prev_enabled = at::autocast::is_autocast_enabled(dt);
  prev_dtype = at::autocast::get_autocast_dtype(dt);
  at::autocast::set_autocast_enabled(dt, enabled);
  at::autocast::set_autocast_dtype(dt, dtype);
#else
  if (cuda) {
    prev_enabled = at::autocast::is_enabled();
    prev_dtype = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_enabled(enabled);
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    prev_enabled = at::autocast::is_cpu_enabled();
    prev_dtype = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_cpu_enabled(enabled);
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
#endif
  // Leaving the outermost autocast region drops the cached casts of weights.
  if (!enabled) at::autocast::clear_cache();
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, prev_enabled);
  out.Set(1u, static_cast<int>(prev_dtype));
  return out;
}

Napi::Value CudaAvailable(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), at::hasCUDA()); }

Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::hasCUDA() ? at::detail::getCUDAHooks().getNumGPUs() : 0);
}

Napi::Value CudaSynchronize(const Napi::CallbackInfo& info) {
  if (!at::hasCUDA()) return info.Env().Undefined();
  int64_t idx = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int64Value() : 0;
  try {
    at::detail::getCUDAHooks().deviceSynchronize(static_cast<c10::DeviceIndex>(idx));
  } catch (const std::exception& e) {
    ThrowTorch(info.Env(), "cuda.synchronize", e);
  }
  return info.Env().Undefined();
}

// The BLAS the process really loaded (the alternatives link decides it on Debian).
std::string LoadedBlas() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  std::string found = "unknown";
  while (std::getline(maps, line)) {
    for (const char* lib : {"openblas", "libmkl", "blis", "libblas.so"}) {
      auto p = line.find(lib);
      if (p != std::string::npos) {
        auto slash = line.find('/');
        std::string path = slash == std::string::npos ? line : line.substr(slash);
        if (std::string(lib) != "libblas.so") return path;
        found = path;
      }
    }
  }
  return found;
}

Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("torchVersion", TORCH_VERSION);
  o.Set("cxx11Abi", _GLIBCXX_USE_CXX11_ABI);
#ifdef LYCO_WITH_CUDA
  o.Set("builtWithCuda", true);
#else
  o.Set("builtWithCuda", false);
#endif
  o.Set("blas", LoadedBlas());
  o.Set("malloc", malloc_mode);
  o.Set("config", at::show_config());
  return o;
}

// profile(path) starts libtorch's op profiler (chrome trace written to path at the matching
// profile()); profile() with no path stops it. For bench/ and development, not training.
std::unique_ptr<torch::autograd::profiler::RecordProfile> profiler;
Napi::Value Profile(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && info[0].IsString()) {
    if (profiler) throw Napi::Error::New(info.Env(), "profile: already profiling");
    profiler = std::make_unique<torch::autograd::profiler::RecordProfile>(info[0].As<Napi::String>().Utf8Value());
  } else {
    profiler.reset();
  }
  return info.Env().Undefined();
}

}  // namespace

void RegisterRuntime(Napi::Env env, Napi::Object exports) {
  malloc_mode = ConfigureMalloc();
  struct {
    const char* name;
    Napi::Function::Callback fn;
  } fns[] = {
      {"setNumThreads", SetNumThreads}, {"getNumThreads", GetNumThreads}, {"manualSeed", ManualSeed},
      {"generatorSeed", GeneratorSeed}, {"gradEnabled", GradEnabled}, {"setGradEnabled", SetGradEnabled},
      {"setAutocast", SetAutocast}, {"cudaAvailable", CudaAvailable}, {"cudaDeviceCount", CudaDeviceCount},
      {"cudaSynchronize", CudaSynchronize}, {"buildInfo", BuildInfo}, {"getRngState", GetRngState}, {"setRngState", SetRngState},
      {"profile", Profile},
  };
  for (auto& f : fns) exports.Set(f.name, Napi::Function::New(env, f.fn, f.name));
}

}  // namespace lyco
