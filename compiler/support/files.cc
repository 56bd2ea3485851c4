#include "compiler/support/files.h"

#include <cstdio>
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

Status writeFileAtomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp-edgeopt";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return ioError(path + ": cannot open for writing");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      out.close();
      std::remove(tmp.c_str());
      return ioError(path + ": write failed");
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    return ioError(path + ": cannot move into place: " + ec.message());
  }
  return Status::Ok();
}

}  // namespace edgeopt::support
