// Frozen layers whose weights stay in half precision (fp16/bf16, as checkpoints ship them) while
// the layer computes in the input's dtype (float32). A plain `linear(x, w.float())` would let
// autograd keep every float32 copy alive from forward to backward, which costs more memory than
// float32 weights; these ops keep only the half weight and recast it in backward. The weight is
// frozen, so backward computes the input's gradient only.
//
// Registered in the dispatcher as lyco::frozen_linear / lyco::frozen_conv2d and reached from
// TypeScript by name, like any aten op. C++ autograd nodes run on any autograd thread (CUDA
// included); nothing here calls into JavaScript.
#include "pch.h"

#include <torch/csrc/autograd/custom_function.h>
#include <torch/library.h>

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The float32 copy of a CPU weight is written into one buffer per thread that is reused: a
// fresh allocation per layer would be page-faulted in twice per step and fragment the heap
// around the activations. Only valid while the op that receives it runs; nothing returned may
// alias it.
at::Tensor Widened(const at::Tensor& w, at::ScalarType dtype) {
  if (!w.device().is_cpu()) return w.to(dtype);
  thread_local at::Tensor buffer;
  const int64_t n = w.numel();
  if (!buffer.defined() || buffer.scalar_type() != dtype || buffer.numel() < n) {
    buffer = at::Tensor();  // free the old one first
    buffer = at::empty({n}, w.options().dtype(dtype));
  }
  return buffer.narrow(0, 0, n).view(w.sizes()).copy_(w);
}

// A large CPU weight is widened and applied a slice of output rows at a time, so each float32
// slice is written and read back while it is still in cache: widening all of a 59 MB conv
// weight first sends it out to memory and back (SD1.5's UNet step: +23% over float32 weights).
// 6 MiB slices were fastest for SD1.5's 1280-channel convs and 5120x1280 linears on this
// machine class (bench/models); an op's slice_bytes argument overrides it (tests: tiny slices).
constexpr int64_t kSliceBytes = 6 << 20;

// Calls fn(first_row, rows, widened_slice) over the weight's output rows (dim 0).
template <typename Fn>
void ForEachSlice(const at::Tensor& w, at::ScalarType dtype, int64_t slice_bytes, Fn&& fn) {
  const int64_t rows = w.size(0);
  const int64_t row_bytes = std::max<int64_t>(1, (rows > 0 ? w.numel() / rows : 1) * static_cast<int64_t>(c10::elementSize(dtype)));
  const int64_t budget = slice_bytes > 0 ? slice_bytes : kSliceBytes;
  const int64_t per = w.device().is_cpu() ? std::clamp<int64_t>(budget / row_bytes, 1, rows) : rows;
  for (int64_t r = 0; r < rows; r += per) {
    const int64_t n = std::min(per, rows - r);
    fn(r, n, Widened(w.narrow(0, r, n), dtype));
  }
}

// A missing bias travels as an empty optional: custom Functions take no undefined tensors.
c10::optional<at::Tensor> As(const c10::optional<at::Tensor>& t, at::ScalarType dtype) {
  if (!t.has_value() || !t->defined()) return c10::nullopt;
  return t->to(dtype);
}

c10::optional<at::Tensor> Rows(const c10::optional<at::Tensor>& b, int64_t r, int64_t n) {
  if (!b.has_value()) return c10::nullopt;
  return b->narrow(0, r, n);
}

struct FrozenLinear : public torch::autograd::Function<FrozenLinear> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b,
                            int64_t slice_bytes) {
    ctx->save_for_backward({w});
    ctx->saved_data["slice_bytes"] = slice_bytes;
    const auto bias = As(b, x.scalar_type());
    std::vector<at::Tensor> parts;
    ForEachSlice(w, x.scalar_type(), slice_bytes, [&](int64_t r, int64_t n, const at::Tensor& ws) {
      parts.push_back(at::linear(x, ws, Rows(bias, r, n)));
    });
    return parts.size() == 1 ? parts[0] : at::cat(parts, -1);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const at::Tensor& g = grads[0];
    at::Tensor w = ctx->get_saved_variables()[0];
    const int64_t slice_bytes = ctx->saved_data["slice_bytes"].toInt();
    // dx = g·W = Σ over row slices of g[:, rows]·W[rows].
    const at::Tensor g2 = g.reshape({-1, g.size(-1)});
    at::Tensor dx;
    ForEachSlice(w, g.scalar_type(), slice_bytes, [&](int64_t r, int64_t n, const at::Tensor& ws) {
      if (dx.defined()) dx.addmm_(g2.narrow(1, r, n), ws);
      else dx = at::mm(g2.narrow(1, r, n), ws);
    });
    std::vector<int64_t> shape(g.sizes().begin(), g.sizes().end());
    shape.back() = w.size(1);
    return {dx.view(shape), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// libtorch (1.13) sends a batch-1 CPU conv whose input has at most 20,480 values (SD's
// 1280-channel 4x4 maps at 32x32 latents) to its im2col path, 2-2.5x slower there than oneDNN
// forward and than one GEMM + col2im backward (bench/models). Those cases take the fast route.
bool SmallCpuInput(const at::Tensor& like, at::IntArrayRef sizes, int64_t groups) {
  int64_t numel = 1;
  for (int64_t s : sizes) numel *= s;
  return like.device().is_cpu() && like.scalar_type() == at::kFloat && at::hasMKLDNN() &&
         at::globalContext().userEnabledMkldnn() && sizes.size() == 4 && sizes[0] == 1 && groups == 1 && numel <= 20480;
}

struct FrozenConv2d : public torch::autograd::Function<FrozenConv2d> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b,
                            at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups,
                            int64_t slice_bytes) {
    ctx->save_for_backward({w});
    ctx->saved_data["slice_bytes"] = slice_bytes;
    ctx->saved_data["input_sizes"] = x.sizes().vec();
    ctx->saved_data["stride"] = stride.vec();
    ctx->saved_data["padding"] = padding.vec();
    ctx->saved_data["dilation"] = dilation.vec();
    ctx->saved_data["groups"] = groups;
    ctx->saved_data["channels_last"] = x.suggest_memory_format() == at::MemoryFormat::ChannelsLast;
    const auto bias = As(b, x.scalar_type());
    const bool small = SmallCpuInput(x, x.sizes(), groups);
    if (groups != 1) return at::conv2d(x, Widened(w, x.scalar_type()), bias, stride, padding, dilation, groups);
    const at::Tensor xc = small ? x.contiguous() : x;
    std::vector<at::Tensor> parts;
    ForEachSlice(w, x.scalar_type(), slice_bytes, [&](int64_t r, int64_t n, const at::Tensor& ws) {
      parts.push_back(small ? at::mkldnn_convolution(xc, ws, Rows(bias, r, n), padding, stride, dilation, 1)
                            : at::conv2d(xc, ws, Rows(bias, r, n), stride, padding, dilation, 1));
    });
    return parts.size() == 1 ? parts[0] : at::cat(parts, 1);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const at::Tensor& g = grads[0];
    const at::Tensor w = ctx->get_saved_variables()[0];
    auto& d = ctx->saved_data;
    auto sizes = d["input_sizes"].toIntVector();
    auto stride = d["stride"].toIntVector();
    auto padding = d["padding"].toIntVector();
    auto dilation = d["dilation"].toIntVector();
    const int64_t groups = d["groups"].toInt();
    const int64_t slice_bytes = d["slice_bytes"].toInt();
    // convolution_backward reads the input only for the weight's gradient, which is not asked
    // for: an uninitialised tensor of the input's shape stands in for the activation that a
    // plain conv2d would have kept alive until now.
    auto placeholder = [&]() {
      auto fmt = d["channels_last"].toBool() ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
      return at::empty(sizes, g.options().memory_format(fmt));
    };
    std::vector<int64_t> output_padding(stride.size(), 0);
    auto input_grad = [&](const at::Tensor& gs, const at::Tensor& ws) {
      return std::get<0>(at::convolution_backward(gs, placeholder(), ws, c10::nullopt, stride, padding, dilation, false,
                                                  output_padding, groups, {true, false, false}));
    };
    at::Tensor grad_input;
    if (groups != 1) {
      grad_input = input_grad(g, Widened(w, g.scalar_type()));
    } else if (SmallCpuInput(g, sizes, groups)) {
      // Columns = Wᵀ·g folded back onto the input's grid: the gradient of im2col + GEMM.
      const at::Tensor g2 = g.reshape({w.size(0), -1});
      at::Tensor cols;
      ForEachSlice(w, g.scalar_type(), slice_bytes, [&](int64_t r, int64_t n, const at::Tensor& ws) {
        const at::Tensor wt = ws.reshape({n, -1}).t();
        if (cols.defined()) cols.addmm_(wt, g2.narrow(0, r, n));
        else cols = at::mm(wt, g2.narrow(0, r, n));
      });
      grad_input = at::col2im(cols.unsqueeze(0), {sizes[2], sizes[3]}, {w.size(2), w.size(3)}, dilation, padding, stride);
    } else {
      // dx = Σ over output-channel slices of the slice's input gradient.
      ForEachSlice(w, g.scalar_type(), slice_bytes, [&](int64_t r, int64_t n, const at::Tensor& ws) {
        at::Tensor part = input_grad(g.narrow(1, r, n), ws);
        if (grad_input.defined()) grad_input.add_(part);
        else grad_input = part;
      });
    }
    return {grad_input, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

at::Tensor frozen_linear(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b, int64_t slice_bytes) {
  return FrozenLinear::apply(x, w, b, slice_bytes);
}

at::Tensor frozen_conv2d(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b, at::IntArrayRef stride,
                         at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups, int64_t slice_bytes) {
  return FrozenConv2d::apply(x, w, b, stride, padding, dilation, groups, slice_bytes);
}

}  // namespace

TORCH_LIBRARY(lyco, m) {
  // slice_bytes: float32 bytes of weight widened at a time on the CPU (0: lyco's default).
  m.def("frozen_linear(Tensor input, Tensor weight, Tensor? bias, int slice_bytes=0) -> Tensor");
  m.def(
      "frozen_conv2d(Tensor input, Tensor weight, Tensor? bias, int[2] stride, int[2] padding, int[2] dilation, int groups, "
      "int slice_bytes=0) -> Tensor");
}

TORCH_LIBRARY_IMPL(lyco, CompositeImplicitAutograd, m) {
  m.impl("frozen_linear", frozen_linear);
  m.impl("frozen_conv2d", frozen_conv2d);
}
