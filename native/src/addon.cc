// Module entry: registers the tensor handle, dispatcher, runtime and mmap functions.
#include "common.h"

static Napi::Object InitLyco(Napi::Env env, Napi::Object exports) {
  lyco::RegisterTensorFns(env, exports);
  lyco::RegisterDispatch(env, exports);
  lyco::RegisterRuntime(env, exports);
  lyco::RegisterMmap(env, exports);
  return exports;
}

NODE_API_MODULE(lyco_native, InitLyco)
