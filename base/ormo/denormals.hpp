// Flushing denormal floats to zero on a thread.
//
// A momentum decays geometrically, so values of parameters whose gradients
// vanish (dead units) pass through the denormal range (|x| < 1.2e-38), where
// every x86 operation on them takes a ~100-cycle microcode assist (it made
// the parameter server's passes 4x slower; docs/performance.md). With FTZ
// and DAZ set they are zeros and cost nothing; TensorFlow sets the same on
// its threads. Results then differ from IEEE arithmetic only for values
// below 1.2e-38, which become 0.
#pragma once

#if defined(__SSE__) || defined(_M_X64)
#include <pmmintrin.h>
#include <xmmintrin.h>
#define ORMO_HAS_MXCSR 1
#endif

namespace ormo {

/// Sets flush-to-zero and denormals-are-zero on the calling thread.
inline void flush_denormals_on_this_thread() {
#ifdef ORMO_HAS_MXCSR
  _MM_SET_FLUSH_ZERO_MODE(_MM_FLUSH_ZERO_ON);
  _MM_SET_DENORMALS_ZERO_MODE(_MM_DENORMALS_ZERO_ON);
#endif
}

/// Flushes denormals on the calling thread while it lives, then restores the
/// thread's previous mode.
class denormals_flushed {
public:
  denormals_flushed() {
#ifdef ORMO_HAS_MXCSR
    saved_ = _mm_getcsr();
#endif
    flush_denormals_on_this_thread();
  }

  ~denormals_flushed() {
#ifdef ORMO_HAS_MXCSR
    _mm_setcsr(saved_);
#endif
  }

  denormals_flushed(const denormals_flushed&) = delete;
  denormals_flushed& operator=(const denormals_flushed&) = delete;

private:
  unsigned saved_ = 0;
};

} // namespace ormo
