// Memory-mapped files as tensor storage (safetensors reading without copying through JS),
// and writing tensor bytes straight to a file descriptor.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "common.h"

namespace lyco {

namespace {

struct Mapping {
  void* base = nullptr;
  size_t len = 0;
  ~Mapping() {
    if (base && len) munmap(base, len);
  }
};

// Each tensor's DataPtr context owns one reference to the mapping; the last one unmaps.
void MmapDeleter(void* ctx) { delete static_cast<std::shared_ptr<Mapping>*>(ctx); }

std::string ErrnoText(int err) { return std::strerror(err); }

// mmapTensors(path, dataStart, entries: [begin, end, dtype, shape][]) -> Tensor[]
// Offsets are relative to dataStart. Entries whose address is not aligned to the element
// size are copied (older writers did not align), the rest are views of the mapping.
Napi::Value MmapTensors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  double data_start = info[1].As<Napi::Number>().DoubleValue();
  Napi::Array entries = info[2].As<Napi::Array>();
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Napi::Error::New(env, path + ": cannot open (" + ErrnoText(errno) + ")");
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    throw Napi::Error::New(env, path + ": cannot stat (" + ErrnoText(err) + ")");
  }
  auto mapping = std::make_shared<Mapping>();
  size_t size = static_cast<size_t>(st.st_size);
  if (size > 0) {
    // Private and writable: in-place updates of loaded weights copy-on-write, never touch the file.
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int err = errno;
      close(fd);
      throw Napi::Error::New(env, path + ": cannot map (" + ErrnoText(err) + ")");
    }
    mapping->base = p;
    mapping->len = size;
  }
  close(fd);
  Napi::Array out = Napi::Array::New(env, entries.Length());
  for (uint32_t i = 0; i < entries.Length(); ++i) {
    Napi::Array e = entries.Get(i).As<Napi::Array>();
    double begin = e.Get(0u).As<Napi::Number>().DoubleValue() + data_start;
    double end = e.Get(1u).As<Napi::Number>().DoubleValue() + data_start;
    auto dtype = static_cast<at::ScalarType>(e.Get(2u).As<Napi::Number>().Int32Value());
    Napi::Array shapeArr = e.Get(3u).As<Napi::Array>();
    std::vector<int64_t> shape(shapeArr.Length());
    int64_t numel = 1;
    for (uint32_t k = 0; k < shapeArr.Length(); ++k) {
      shape[k] = shapeArr.Get(k).As<Napi::Number>().Int64Value();
      if (shape[k] < 0) throw Napi::RangeError::New(env, path + ": negative dimension");
      numel *= shape[k];
    }
    size_t item = c10::elementSize(dtype);
    if (!(begin >= 0 && begin <= end && end <= static_cast<double>(size)) ||
        static_cast<double>(numel) * item != end - begin) {
      throw Napi::RangeError::New(env, path + ": tensor byte range does not match its shape or lies outside the file");
    }
    size_t off = static_cast<size_t>(begin);
    size_t nbytes = static_cast<size_t>(end - begin);
    at::Tensor t;
    try {
      char* addr = static_cast<char*>(mapping->base) + off;
      if (nbytes == 0 || reinterpret_cast<uintptr_t>(addr) % item != 0) {
        t = at::empty(shape, at::TensorOptions().dtype(dtype));
        if (nbytes) std::memcpy(t.data_ptr(), addr, nbytes);
      } else {
        auto* ctx = new std::shared_ptr<Mapping>(mapping);
        c10::DataPtr dp(addr, ctx, &MmapDeleter, c10::Device(c10::kCPU));
        c10::Storage storage(c10::Storage::use_byte_size_t(), nbytes, std::move(dp), nullptr, false);
        t = at::empty({0}, at::TensorOptions().dtype(dtype));
        t.set_(storage, 0, shape, c10::contiguous_strides(shape));
      }
    } catch (const std::exception& ex) {
      ThrowTorch(env, path, ex);
    }
    out.Set(i, NewTensor(env, std::move(t)));
  }
  return out;
}

// writeTensor(fd, t) -> bytes written; the tensor's contiguous CPU bytes, little-endian as stored.
Napi::Value WriteTensor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  at::Tensor& src = ToTensor(env, info[1], "writeTensor");
  at::Tensor c;
  try {
    c = src.detach().to(at::kCPU).contiguous();
  } catch (const std::exception& e) {
    ThrowTorch(env, "writeTensor", e);
  }
  const char* p = static_cast<const char*>(c.data_ptr());
  size_t left = c.nbytes();
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      Napi::Error e = Napi::Error::New(env, ErrnoText(err));
      e.Set("code", err == ENOSPC ? "ENOSPC" : (err == EDQUOT ? "EDQUOT" : "EIO"));
      throw e;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return Napi::Number::New(env, static_cast<double>(c.nbytes()));
}

// releaseMappedPages(t): gives back the resident pages of a file-mapped tensor once its values
// have been copied out (a checkpoint being loaded into a model): otherwise the whole file stays
// in the process's RSS beside the model until the mapping goes, doubling the load's peak. Only
// the pages that lie wholly inside the tensor's bytes are dropped; read again, they come back
// from the file, so a tensor that was written in place (copy-on-write) reads as the file again.
Napi::Value ReleaseMappedPages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor& t = ToTensor(env, info[0], "releaseMappedPages");
  if (!t.has_storage() || t.storage().data_ptr().get_deleter() != &MmapDeleter) return Napi::Boolean::New(env, false);
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = reinterpret_cast<uintptr_t>(t.storage().data());
  const uintptr_t end = begin + t.storage().nbytes();
  const uintptr_t first = (begin + page - 1) / page * page;
  const uintptr_t last = end / page * page;
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
  return Napi::Boolean::New(env, true);
}

}  // namespace

bool IsMmapStorage(const at::Tensor& t) {
  return t.storage().data_ptr().get_deleter() == &MmapDeleter;
}

void RegisterMmap(Napi::Env env, Napi::Object exports) {
  exports.Set("mmapTensors", Napi::Function::New(env, MmapTensors, "mmapTensors"));
  exports.Set("writeTensor", Napi::Function::New(env, WriteTensor, "writeTensor"));
  exports.Set("releaseMappedPages", Napi::Function::New(env, ReleaseMappedPages, "releaseMappedPages"));
}

}  // namespace lyco
