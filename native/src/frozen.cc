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

// The float32 copy of a CPU weight is written into one buffer per thread that grows to the
// largest weight and is reused: a fresh 59 MB allocation per conv (SD1.5's 1280-channel 3x3)
// would be page-faulted in twice per step and fragment the heap around the activations.
// Only valid while the op that receives it runs; nothing returned may alias it.
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

// A missing bias travels as an empty optional: custom Functions take no undefined tensors.
c10::optional<at::Tensor> As(const c10::optional<at::Tensor>& t, at::ScalarType dtype) {
  if (!t.has_value() || !t->defined()) return c10::nullopt;
  return t->to(dtype);
}

struct FrozenLinear : public torch::autograd::Function<FrozenLinear> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b) {
    ctx->save_for_backward({w});
    return at::linear(x, Widened(w, x.scalar_type()), As(b, x.scalar_type()));
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const at::Tensor& g = grads[0];
    at::Tensor w = ctx->get_saved_variables()[0];
    return {at::matmul(g, Widened(w, g.scalar_type())), at::Tensor(), at::Tensor()};
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
                            at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups) {
    ctx->save_for_backward({w});
    ctx->saved_data["input_sizes"] = x.sizes().vec();
    ctx->saved_data["stride"] = stride.vec();
    ctx->saved_data["padding"] = padding.vec();
    ctx->saved_data["dilation"] = dilation.vec();
    ctx->saved_data["groups"] = groups;
    ctx->saved_data["channels_last"] = x.suggest_memory_format() == at::MemoryFormat::ChannelsLast;
    if (SmallCpuInput(x, x.sizes(), groups)) {
      return at::mkldnn_convolution(x.contiguous(), Widened(w, x.scalar_type()), As(b, x.scalar_type()), padding, stride, dilation, groups);
    }
    return at::conv2d(x, Widened(w, x.scalar_type()), As(b, x.scalar_type()), stride, padding, dilation, groups);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const at::Tensor& g = grads[0];
    at::Tensor w = Widened(ctx->get_saved_variables()[0], g.scalar_type());
    auto& d = ctx->saved_data;
    auto sizes = d["input_sizes"].toIntVector();
    auto stride = d["stride"].toIntVector();
    auto padding = d["padding"].toIntVector();
    auto dilation = d["dilation"].toIntVector();
    const int64_t groups = d["groups"].toInt();
    at::Tensor grad_input;
    if (SmallCpuInput(g, sizes, groups)) {
      // Columns = Wᵀ·g folded back onto the input's grid: the gradient of im2col + GEMM.
      const int64_t out = w.size(0);
      at::Tensor cols = at::mm(w.reshape({out, -1}).t(), g.reshape({out, -1}));
      grad_input = at::col2im(cols.unsqueeze(0), {sizes[2], sizes[3]}, {w.size(2), w.size(3)}, dilation, padding, stride);
    } else {
      // convolution_backward reads the input only for the weight's gradient, which is not asked
      // for: an uninitialised tensor of the input's shape stands in for the activation that a
      // plain conv2d would have kept alive until now.
      auto fmt = d["channels_last"].toBool() ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
      at::Tensor input = at::empty(sizes, g.options().memory_format(fmt));
      std::vector<int64_t> output_padding(stride.size(), 0);
      grad_input = std::get<0>(at::convolution_backward(g, input, w, c10::nullopt, stride, padding, dilation, false,
                                                        output_padding, groups, {true, false, false}));
    }
    return {grad_input, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

at::Tensor frozen_linear(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b) {
  return FrozenLinear::apply(x, w, b);
}

at::Tensor frozen_conv2d(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b,
                         at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups) {
  return FrozenConv2d::apply(x, w, b, stride, padding, dilation, groups);
}

}  // namespace

TORCH_LIBRARY(lyco, m) {
  m.def("frozen_linear(Tensor input, Tensor weight, Tensor? bias) -> Tensor");
  m.def("frozen_conv2d(Tensor input, Tensor weight, Tensor? bias, int[2] stride, int[2] padding, int[2] dilation, int groups) -> Tensor");
}

TORCH_LIBRARY_IMPL(lyco, CompositeImplicitAutograd, m) {
  m.impl("frozen_linear", frozen_linear);
  m.impl("frozen_conv2d", frozen_conv2d);
}
