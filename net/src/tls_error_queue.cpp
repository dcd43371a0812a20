#include "tls_error_queue.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace {

std::atomic<bool> emptying{false};

} // namespace

namespace ormo::net {

void empty_tls_errors_after_reading() {
  emptying.store(true);
}

} // namespace ormo::net

// Takes the place of libssl's SSL_get_error for the whole process: the
// executable's definition comes first in the dynamic linker's lookup, so
// CAF's OpenSSL module calls this one, which calls libssl's.
extern "C" int SSL_get_error(const SSL* ssl, int result) {
  using function = int (*)(const SSL*, int);
  static const auto next
    = reinterpret_cast<function>(dlsym(RTLD_NEXT, "SSL_get_error"));
  if (next == nullptr) {
    std::fputs("ormo: libssl's SSL_get_error not found\n", stderr);
    std::abort();
  }
  auto reason = next(ssl, result);
  if (emptying.load(std::memory_order_relaxed))
    ERR_clear_error();
  return reason;
}
