// Shared declarations of the addon: the tensor handle and JS<->IValue conversion.
#pragma once
#include "pch.h"

namespace lyco {

// Tensors live in a slot table; JavaScript holds a number (slot index + generation), so
// creating a tensor costs no JS object in C++ and a stale id is detected, never dereferenced.
// Each op returns fresh slots; they are released by dispose() (scopes) and, as a safety net
// only, by a FinalizationRegistry on the JS side. Host bytes are reported to V8 per storage.
Napi::Value NewTensor(Napi::Env env, at::Tensor t);  // undefined tensor -> JS undefined
at::Tensor& ToTensor(Napi::Env env, Napi::Value v, const char* what);
bool ReleaseTensor(Napi::Env env, double id);
int64_t LiveTensors();
int64_t ExternalBytes();

class GeneratorHandle : public Napi::ObjectWrap<GeneratorHandle> {
 public:
  static Napi::Function DefineClass(Napi::Env env);
  explicit GeneratorHandle(const Napi::CallbackInfo& info);
  at::Generator gen;
};
at::Generator* ToGenerator(Napi::Env env, Napi::Value v);

// Conversion of results back to JS.
Napi::Value FromIValue(Napi::Env env, const c10::IValue& v);

// Throws a JS error carrying a C++ exception's message without libtorch's backtrace.
[[noreturn]] void ThrowTorch(Napi::Env env, const std::string& prefix, const std::exception& e);

// glibc malloc settings for large tensors (malloc.cc); returns 'retained' or 'system'.
const char* ConfigureMalloc();

void RegisterDispatch(Napi::Env env, Napi::Object exports);
void RegisterTensorFns(Napi::Env env, Napi::Object exports);
void RegisterRuntime(Napi::Env env, Napi::Object exports);
void RegisterMmap(Napi::Env env, Napi::Object exports);

}  // namespace lyco
