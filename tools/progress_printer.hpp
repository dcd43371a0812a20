// Progress lines of `ormo run`: a bar redrawn in place on a terminal, plain
// lines otherwise (logs, pipes).
#pragma once

#include <cmath>
#include <cstdio>
#include <string>

#include <unistd.h>

#include "ormo/actors/run_monitor.hpp"

namespace ormo::tools {

class progress_printer {
public:
  explicit progress_printer(std::FILE* out)
    : out_(out), terminal_(isatty(fileno(out)) != 0) {}

  void print(const actors::progress& p) {
    char line[256];
    char accuracy[32] = "n/a";
    if (p.test_accuracy >= 0)
      std::snprintf(accuracy, sizeof accuracy, "%.2f%%", 100 * p.test_accuracy);
    // No gradient yet: no loss.
    char loss[32] = "n/a";
    if (!std::isnan(p.train_loss))
      std::snprintf(loss, sizeof loss, "%.4f", p.train_loss);
    char eta[32] = "?";
    if (p.eta_seconds >= 0)
      std::snprintf(eta, sizeof eta, "%.0fs", p.eta_seconds);
    std::snprintf(line, sizeof line,
                  "epoch %.2f | iteration %lld | %.0f gradients/s | loss "
                  "%s | test accuracy %s | workers %u | rejected %llu | "
                  "ETA %s",
                  p.epoch, static_cast<long long>(p.iteration),
                  p.gradients_per_second, loss, accuracy,
                  p.live_workers, static_cast<unsigned long long>(p.rejected),
                  eta);
    if (terminal_) {
      constexpr int width = 20;
      int filled = static_cast<int>(std::lround(p.done * width));
      std::string bar(static_cast<std::size_t>(filled), '#');
      bar.resize(width, '.');
      std::fprintf(out_, "\r\033[K[%s] %3.0f%% %s", bar.c_str(), 100 * p.done,
                   line);
      open_line_ = true;
    } else {
      std::fprintf(out_, "%s\n", line);
    }
    std::fflush(out_);
  }

  /// Ends a redrawn line before other output.
  void finish_line() {
    if (open_line_)
      std::fputc('\n', out_);
    open_line_ = false;
  }

private:
  std::FILE* out_;
  bool terminal_;
  bool open_line_ = false;
};

} // namespace ormo::tools
