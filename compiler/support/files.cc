#include "compiler/support/files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace edgeopt::support {
namespace fs = std::filesystem;

Status checkRegularFile(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return ioError(path + ": no such file");
  if (fs::is_directory(st)) return ioError(path + ": is a directory, expected a file");
  if (!fs::is_regular_file(st))
    return invalidInput(path + ": is not a regular file (a FIFO, device or socket), expected a file");
  return Status::Ok();
}

StatusOr<std::string> readFile(const std::string& path) {
  EDGEOPT_RETURN_IF_ERROR(checkRegularFile(path));
  std::ifstream in(path, std::ios::binary);
  if (!in) return ioError(path + ": cannot open for reading");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return ioError(path + ": read failed");
  return ss.str();
}

namespace {
// Temporary files and folders being written, removed by the signal handler. Fixed storage: the
// handler may only call async-signal-safe functions (unlink, fork, execve, waitpid, signal,
// raise); a folder is removed by a child running /bin/rm -rf.
constexpr int kMaxPending = 8;
constexpr size_t kMaxPath = 4096;
char pendingPaths[kMaxPending][kMaxPath];
volatile std::sig_atomic_t pendingKind[kMaxPending];  // 0 free, 1 file, 2 folder

extern "C" void removePendingAndReraise(int sig) {
  for (int i = 0; i < kMaxPending; ++i) {
    if (pendingKind[i] == 1) ::unlink(pendingPaths[i]);
    if (pendingKind[i] == 2) {
      const pid_t child = ::fork();
      if (child == 0) {
        char rm[] = "rm", flags[] = "-rf", end[] = "--";
        char* argv[] = {rm, flags, end, pendingPaths[i], nullptr};
        char* envp[] = {nullptr};
        ::execve("/bin/rm", argv, envp);
        ::_exit(127);
      }
      if (child > 0) ::waitpid(child, nullptr, 0);
    }
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}
}  // namespace

PendingRemoval::PendingRemoval(const std::string& path, bool folder) {
  static const bool installed = [] {
    for (int sig : {SIGINT, SIGTERM, SIGHUP})
      if (std::signal(sig, SIG_IGN) != SIG_IGN) std::signal(sig, removePendingAndReraise);  // keep an inherited ignore
    return true;
  }();
  (void)installed;
  if (path.size() >= kMaxPath) return;
  for (int i = 0; i < kMaxPending; ++i)
    if (!pendingKind[i]) {
      std::memcpy(pendingPaths[i], path.c_str(), path.size() + 1);
      pendingKind[i] = folder ? 2 : 1;
      slot_ = i;
      return;
    }
}

PendingRemoval::~PendingRemoval() {
  if (slot_ >= 0) pendingKind[slot_] = 0;
}

SignalsHeld::SignalsHeld() {
  sigset_t block;
  sigemptyset(&block);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&block, sig);
  held_ = ::pthread_sigmask(SIG_BLOCK, &block, &previous_) == 0;
}

void SignalsHeld::release() {
  if (!held_) return;
  held_ = false;
  ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr);  // a signal that waited is delivered now
}

namespace {
// The mode a file written at `path` gets: the existing file's, else 0666 minus the umask.
mode_t modeFor(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return st.st_mode & 07777;
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return 0666 & ~mask;
}
}  // namespace

StatusOr<std::unique_ptr<PathLock>> PathLock::acquire(const std::string& path) {
  std::error_code ec;
  const fs::path target = fs::absolute(path, ec);
  const fs::path lockPath = target.parent_path() / ("." + target.filename().string() + ".edgeopt-lock");
  const int fd = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return ioError(path + ": cannot create the lock file " + lockPath.string() + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char owner[32] = {0};
    const ssize_t n = ::pread(fd, owner, sizeof owner - 1, 0);
    ::close(fd);
    return invalidInput(path + ": another edgeopt process" + (n > 0 ? " (pid " + std::string(owner) + ")" : std::string()) +
                        " is writing it; run one at a time per output");
  }
  const std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // The pid is only for the message; the lock itself holds.
  }
  return std::unique_ptr<PathLock>(new PathLock(fd));
}

PathLock::~PathLock() { ::close(fd_); }  // closing releases the flock

Status writeFileAtomically(const std::string& path, const std::string& bytes) {
  return writeFileAtomically(path, [&](const std::function<Status(const void*, size_t)>& write) {
    return write(bytes.data(), bytes.size());
  });
}

Status writeFileAtomically(const std::string& path,
                           const std::function<Status(const std::function<Status(const void*, size_t)>& write)>& produce) {
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string tmp = (dir / ("." + target.filename().string() + ".tmp-edgeopt-XXXXXX")).string();
  SignalsHeld held;
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) return ioError(path + ": cannot open for writing: " + std::strerror(errno));
  PendingRemoval pending(tmp, /*folder=*/false);
  held.release();
  auto failWith = [&](const std::string& why) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return ioError(path + ": " + why);
  };
  if (::fchmod(fd, modeFor(path)) != 0) return failWith(std::string("cannot set the mode: ") + std::strerror(errno));
  auto write = [&](const void* data, size_t size) -> Status {
    for (size_t done = 0; done < size;) {
      const ssize_t n = ::write(fd, static_cast<const char*>(data) + done, size - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return ioError(path + ": write failed: " + std::strerror(errno));
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  };
  if (Status st = produce(write); !st.ok()) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return st;
  }
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return ioError(path + ": write failed: " + std::strerror(errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return ioError(path + ": cannot move into place: " + std::strerror(err));
  }
  return Status::Ok();
}

}  // namespace edgeopt::support
