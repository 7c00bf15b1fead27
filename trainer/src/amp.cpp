// libtorch's C API in tch turns CUDA autocast on but cannot choose its dtype, and the
// default is float16 (which needs loss scaling). These two calls pick bfloat16.
#include <ATen/autocast_mode.h>

extern "C" int icd_autocast_cuda_bf16() {
  try {
    at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
    return 1;
  } catch (...) {
    return 0;
  }
}

extern "C" int icd_autocast_cuda_is_bf16() {
  try {
    return at::autocast::get_autocast_dtype(at::kCUDA) == at::kBFloat16 ? 1 : 0;
  } catch (...) {
    return -1;
  }
}
