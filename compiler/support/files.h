// Whole-file reads and atomic writes shared by the ONNX and data layers.
#pragma once

#include <signal.h>

#include <functional>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "compiler/ir/status.h"

namespace edgeopt::support {

// Ok when `path` names a regular file (or a link to one). Otherwise the error names the path and
// why: "no such file", "is a directory, expected a file", or "is not a regular file" (a FIFO,
// device or socket: opening one can block forever or read without end). Checked without opening.
Status checkRegularFile(const std::string& path);

// An exclusive advisory lock (flock) for writing `path`, held while the object lives: on a hidden
// file beside it (".NAME.edgeopt-lock", left in place: removing a lock file races with the next
// locker), holding the owner's pid. acquire() does not wait: when another process holds the lock
// the error names the path and that process.
class PathLock {
 public:
  static StatusOr<std::unique_ptr<PathLock>> acquire(const std::string& path);
  ~PathLock();
  PathLock(const PathLock&) = delete;
  PathLock& operator=(const PathLock&) = delete;

 private:
  explicit PathLock(int fd) : fd_(fd) {}
  int fd_;
};

// While it lives, `path` (a temporary file, or a folder with everything in it) is removed if
// SIGINT, SIGTERM or SIGHUP ends the process; then the signal takes its default action. Up to
// 8 at a time (more are not registered). For the working files and folders outputs are built in.
class PendingRemoval {
 public:
  PendingRemoval(const std::string& path, bool folder);
  ~PendingRemoval();
  PendingRemoval(const PendingRemoval&) = delete;
  PendingRemoval& operator=(const PendingRemoval&) = delete;

 private:
  int slot_ = -1;
};

// Holds SIGINT, SIGTERM and SIGHUP (blocked; one that arrives waits) from construction until
// release() or destruction: wraps creating a temporary file or folder and registering its
// PendingRemoval, so that no signal can end the process between the two and leave it behind.
class SignalsHeld {
 public:
  SignalsHeld();
  ~SignalsHeld() { release(); }
  void release();
  SignalsHeld(const SignalsHeld&) = delete;
  SignalsHeld& operator=(const SignalsHeld&) = delete;

 private:
  bool held_ = false;
  sigset_t previous_{};
};

// The file's bytes (after checkRegularFile); errors name the path.
StatusOr<std::string> readFile(const std::string& path);

// Writes `bytes` to a temporary file beside `path`, then renames it into place, so a failure
// never leaves a partial file at `path`. The temporary name is unpredictable and created
// exclusively (mkstemp: never through an existing file or symlink); an existing file's mode is
// kept (a new file gets 0666 minus the umask); the temporary file is removed on every error and
// when SIGINT, SIGTERM or SIGHUP ends the process meanwhile.
Status writeFileAtomically(const std::string& path, const std::string& bytes);
// The same, with the bytes produced piece by piece: `produce` calls `write` as often as it needs
// (a file too large to hold in memory); its error, or a write's, leaves nothing at `path`.
Status writeFileAtomically(const std::string& path,
                           const std::function<Status(const std::function<Status(const void*, size_t)>& write)>& produce);

// A folder of outputs written as a whole (compile -o, split -o). The rules, for a command named
// `command`: the folder may be absent, empty, or an earlier output of that command that holds only
// what its manifest (".edgeopt-output", one relative path per line) lists — or, for outputs written
// before manifests, only `legacyNames` beside a report.json; never the working folder or one above
// it. Anything else is refused, never overwritten.
Status checkOutputFolder(const std::string& dir, const std::string& command, const std::set<std::string>& legacyNames = {});

// begin() checks the folder, makes the folders above it that are missing (as mkdir -p; removed
// again unless commit() succeeds), locks it against other runs (PathLock) and makes a fresh
// working folder beside it. Outputs are written into workDir(); commit() lists them in the
// manifest and moves the working folder into place, replacing an earlier output (checked again).
// Without commit() — an error, or a signal — nothing is left behind.
class OutputFolder {
 public:
  static StatusOr<std::unique_ptr<OutputFolder>> begin(const std::string& dir, const std::string& command,
                                                       std::set<std::string> legacyNames = {});
  ~OutputFolder();
  const std::string& workDir() const { return work_; }
  Status commit();
  OutputFolder(const OutputFolder&) = delete;
  OutputFolder& operator=(const OutputFolder&) = delete;

 private:
  OutputFolder() = default;
  std::string dir_, command_, work_, madeParent_;
  std::set<std::string> legacyNames_;
  std::unique_ptr<PathLock> lock_;
  std::optional<PendingRemoval> parentRemoval_, workRemoval_;
  bool committed_ = false;
};

// An OutputFolder holding exactly `files` (name relative to the folder -> bytes).
Status writeOutputFolder(const std::string& dir, const std::string& command,
                         const std::vector<std::pair<std::string, std::string>>& files);

}  // namespace edgeopt::support
