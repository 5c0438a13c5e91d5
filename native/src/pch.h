// Precompiled header: ATen, the dispatcher and node-addon-api. Never torch/torch.h
// (the C++ frontend costs 34 s and 1 GB per translation unit and lyco uses none of it).
#pragma once
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/GradMode.h>
#include <torch/version.h>
#include <napi.h>
