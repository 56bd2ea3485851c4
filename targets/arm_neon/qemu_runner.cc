#include "targets/arm_neon/qemu_runner.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "compiler/data/npy.h"
#include "targets/arm_neon/emit.h"

extern char** environ;

namespace edgeopt::arm_neon {
namespace fs = std::filesystem;

namespace {

bool onPath(const std::string& tool) {
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "");
  for (std::string dir; std::getline(ss, dir, ':');)
    if (!dir.empty() && ::access((dir + "/" + tool).c_str(), X_OK) == 0) return true;
  return false;
}

// Runs argv, stdout and stderr into `log`; the exit status (or -1 when it could not start).
int runProcess(const std::vector<std::string>& argv, const std::string& log) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string tail(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return last;
}

}  // namespace

Status neonToolsAvailable() {
  for (const char* tool : {"aarch64-linux-gnu-g++", "qemu-aarch64", "cmake"})
    if (!onPath(tool))
      return unsupported(std::string("--target arm-neon builds the NEON package for aarch64 and runs it under qemu: ") + tool +
                         " is not installed (apt-get install g++-aarch64-linux-gnu qemu-user cmake)");
  return Status::Ok();
}

StatusOr<std::unique_ptr<NeonPackageRunner>> NeonPackageRunner::create(const ir::Graph& lowered, const std::string& name,
                                                                        const std::string& qemuCpu, const std::string& packageDir) {
  EDGEOPT_RETURN_IF_ERROR(neonToolsAvailable());
  std::unique_ptr<NeonPackageRunner> r(new NeonPackageRunner());
  char tmpl[] = "/tmp/edgeopt-arm-neon-XXXXXX";
  if (!mkdtemp(tmpl)) return ioError("cannot create a temporary folder for the NEON package");
  r->dir_ = tmpl;
  r->qemuCpu_ = qemuCpu;
  const ir::Shape& out = lowered.outputs()[0]->shape();
  if (out)
    for (size_t i = 1; i < out->size(); ++i) r->outputSampleDims_.push_back((*out)[i].value);
  // Absolute: cmake reads the toolchain file relative to the build folder, not to where we run.
  std::error_code ec;
  std::string package = packageDir.empty() ? "" : fs::absolute(packageDir, ec).string();
  if (ec) return ioError(packageDir + ": " + ec.message());
  if (package.empty()) {
    EDGEOPT_ASSIGN_OR_RETURN(Package pkg, emitPackage(lowered, name));
    package = r->dir_ + "/package";
    EDGEOPT_RETURN_IF_ERROR(writePackage(pkg, package));
  }
  const std::string log = r->dir_ + "/build.log";
  if (runProcess({"cmake", "-S", package, "-B", r->dir_ + "/build", "-DCMAKE_BUILD_TYPE=Release",
                  "-DCMAKE_TOOLCHAIN_FILE=" + package + "/cmake/aarch64-linux-gnu.cmake"},
                 log) != 0 ||
      runProcess({"cmake", "--build", r->dir_ + "/build", "-j", "2"}, log) != 0)
    return internalError("building the NEON package for aarch64 failed (" + log + "): " + tail(log));
  return r;
}

NeonPackageRunner::~NeonPackageRunner() {
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

StatusOr<ir::Tensor> NeonPackageRunner::run(const ir::Tensor& input) {
  const std::string in = dir_ + "/in.npy", out = dir_ + "/out.npy", log = dir_ + "/run.log";
  EDGEOPT_RETURN_IF_ERROR(data::writeNpy(input, in));
  // No --weights: the runner finds weights.bin in its package folder by itself (a user's runner
  // does the same), and the tests that go through here check that it does.
  const int rc = runProcess({"qemu-aarch64", "-cpu", qemuCpu_, "-L", "/usr/aarch64-linux-gnu", dir_ + "/build/model_runner",
                             in, out},
                            log);
  if (rc != 0) return internalError("the NEON package failed under qemu-aarch64 (" + log + "): " + tail(log));
  EDGEOPT_ASSIGN_OR_RETURN(ir::Tensor t, data::readNpy(out));
  std::vector<int64_t> dims = {input.dims().empty() ? 1 : input.dims()[0]};
  dims.insert(dims.end(), outputSampleDims_.begin(), outputSampleDims_.end());
  if (ir::numElements(dims) == t.numel()) t.reshape(dims);
  return t;
}

}  // namespace edgeopt::arm_neon
