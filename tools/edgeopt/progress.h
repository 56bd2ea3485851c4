// Progress of long stages on stderr. On a terminal: one line redrawn in place (a bar, the
// percentage, the stage and its detail; at most ten redraws a second), and milestones that carry
// a detail (an epoch's figures) kept as lines above it. Elsewhere (a CI log): one plain line per
// milestone ("edgeopt: progress: ..."; an error stays the one "edgeopt: error: ..." line), nothing per step. Quiet: nothing. stdout is left to the command's results.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "api/compile.h"

namespace edgeopt::cli {

class ProgressPrinter {
 public:
  explicit ProgressPrinter(bool quiet) : quiet_(quiet), tty_(::isatty(STDERR_FILENO) == 1) {}
  ~ProgressPrinter() { clear(); }
  ProgressPrinter(const ProgressPrinter&) = delete;
  ProgressPrinter& operator=(const ProgressPrinter&) = delete;

  void operator()(const api::ProgressEvent& e) {
    if (quiet_) return;
    const std::string text = e.stage + (e.detail.empty() ? "" : ": " + e.detail);
    if (!tty_) {
      if (e.milestone) std::fprintf(stderr, "edgeopt: progress: %s\n", text.c_str());
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (!e.milestone && barShown_ && now - lastDraw_ < std::chrono::milliseconds(100)) return;
    lastDraw_ = now;
    clear();
    if (e.milestone && !e.detail.empty()) std::fprintf(stderr, "%s\n", text.c_str());
    constexpr int kWidth = 28;
    if (e.fraction >= 0) {
      const double f = e.fraction > 1 ? 1 : e.fraction;
      const int filled = static_cast<int>(f * kWidth);
      std::string bar(static_cast<size_t>(filled), '=');
      if (filled < kWidth) bar += '>';
      bar.resize(kWidth, ' ');
      std::fprintf(stderr, "[%s] %3d%% %s", bar.c_str(), static_cast<int>(f * 100), text.c_str());
    } else {
      std::fprintf(stderr, "%s ...", e.stage.c_str());
    }
    std::fflush(stderr);
    barShown_ = true;
  }

  // Removes the bar (before other output on the terminal); the next event draws it again.
  void clear() {
    if (!barShown_) return;
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
    barShown_ = false;
  }

 private:
  bool quiet_, tty_;
  bool barShown_ = false;
  std::chrono::steady_clock::time_point lastDraw_{};
};

}  // namespace edgeopt::cli
