#include "compiler/support/files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
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

namespace {
constexpr const char* kManifest = ".edgeopt-output";
}  // namespace

Status checkOutputFolder(const std::string& dir, const std::string& command, const std::set<std::string>& legacyNames) {
  std::error_code ec;
  const fs::path out = fs::weakly_canonical(fs::absolute(dir, ec), ec);
  const fs::path cwd = fs::current_path(ec);
  const auto [mismatch, rest] = std::mismatch(out.begin(), out.end(), cwd.begin(), cwd.end());
  if (mismatch == out.end())
    return invalidInput(dir + ": is the working folder or contains it; give " + command + " a folder of its own");
  if (!fs::exists(out, ec) || (fs::is_directory(out, ec) && fs::is_empty(out, ec))) return Status::Ok();
  if (!fs::is_directory(out, ec)) return invalidInput(dir + ": exists and is not a folder; not overwriting it");
  if (std::ifstream manifest(out / kManifest); manifest) {
    std::set<std::string> listed;
    for (std::string line; std::getline(manifest, line);) listed.insert(line);
    for (auto it = fs::recursive_directory_iterator(out, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory()) continue;
      const std::string rel = fs::relative(it->path(), out).string();
      if (rel != kManifest && !listed.count(rel))
        return invalidInput(dir + ": holds '" + rel + "', which " + command + " did not write; not overwriting the folder");
    }
    return Status::Ok();
  }
  if (legacyNames.empty() || !fs::exists(out / "report.json", ec))
    return invalidInput(dir + ": exists and is not an edgeopt " + command + " output (no " + kManifest + "); not overwriting it");
  for (const auto& entry : fs::directory_iterator(out, ec))
    if (!legacyNames.count(entry.path().filename().string()))
      return invalidInput(dir + ": holds '" + entry.path().filename().string() + "', which " + command +
                          " did not write; not overwriting the folder");
  return Status::Ok();
}

StatusOr<std::unique_ptr<OutputFolder>> OutputFolder::begin(const std::string& dir, const std::string& command,
                                                            std::set<std::string> legacyNames) {
  EDGEOPT_RETURN_IF_ERROR(checkOutputFolder(dir, command, legacyNames));
  std::unique_ptr<OutputFolder> f(new OutputFolder());
  f->dir_ = dir;
  f->command_ = command;
  f->legacyNames_ = std::move(legacyNames);
  std::error_code ec;
  const fs::path outPath = fs::absolute(dir, ec);
  if (ec) return ioError(dir + ": cannot resolve the path: " + ec.message());
  fs::path firstMissing;
  for (fs::path p = outPath.parent_path(); !p.empty() && p != p.root_path() && !fs::exists(p, ec); p = p.parent_path()) firstMissing = p;
  {
    SignalsHeld held;
    if (!firstMissing.empty() && !fs::create_directories(outPath.parent_path(), ec))
      return ioError(dir + ": cannot create the folders above it: " + ec.message());
    if (!firstMissing.empty()) {
      f->madeParent_ = firstMissing.string();
      f->parentRemoval_.emplace(f->madeParent_, /*folder=*/true);
    }
  }
  // One run per output folder at a time: two would each swap in their folder and claim success.
  EDGEOPT_ASSIGN_OR_RETURN(f->lock_, PathLock::acquire(dir));
  // A fresh folder of its own beside dir (two runs into one dir must not share it).
  std::string tmpl = (outPath.parent_path() / (outPath.filename().string() + ".tmp-edgeopt-XXXXXX")).string();
  SignalsHeld held;
  if (!::mkdtemp(tmpl.data())) return ioError(dir + ": cannot create a working folder beside it");
  f->work_ = tmpl;
  f->workRemoval_.emplace(f->work_, /*folder=*/true);
  return f;
}

OutputFolder::~OutputFolder() {
  std::error_code ec;
  if (!work_.empty() && !committed_) fs::remove_all(work_, ec);
  if (!madeParent_.empty() && !committed_) fs::remove_all(madeParent_, ec);
}

Status OutputFolder::commit() {
  std::error_code ec;
  std::string list;
  for (auto it = fs::recursive_directory_iterator(work_, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (!it->is_directory()) list += fs::relative(it->path(), work_).string() + "\n";
  EDGEOPT_RETURN_IF_ERROR(writeFileAtomically(work_ + "/" + kManifest, list));
  // mkdtemp made it 0700; an output folder gets the mode any new folder would (0777 minus the umask).
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::chmod(work_.c_str(), 0777 & ~mask);
  EDGEOPT_RETURN_IF_ERROR(checkOutputFolder(dir_, command_, legacyNames_));  // another run may have written it meanwhile
  if (fs::exists(dir_, ec)) {
    fs::remove_all(dir_, ec);
    if (ec) return ioError(dir_ + ": cannot replace: " + ec.message());
  }
  fs::rename(work_, dir_, ec);
  if (ec) return ioError(dir_ + ": cannot move the output into place: " + ec.message());
  committed_ = true;
  workRemoval_.reset();
  parentRemoval_.reset();  // they hold the finished output now
  return Status::Ok();
}

Status writeOutputFolder(const std::string& dir, const std::string& command,
                         const std::vector<std::pair<std::string, std::string>>& files) {
  EDGEOPT_ASSIGN_OR_RETURN(auto folder, OutputFolder::begin(dir, command));
  for (const auto& [name, bytes] : files)
    EDGEOPT_RETURN_IF_ERROR(writeFileAtomically(folder->workDir() + "/" + name, bytes));
  return folder->commit();
}

}  // namespace edgeopt::support
