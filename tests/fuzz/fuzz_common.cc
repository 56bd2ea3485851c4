#include "tests/fuzz/fuzz_common.h"

#include <filesystem>
#include <fstream>
#include <string_view>

namespace edgeopt::fuzz {

const std::string& scratchFolder() {
  static const std::string folder = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "edgeopt-fuzz-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) {
      std::perror("edgeopt fuzz: mkdtemp");
      std::abort();
    }
    static const std::string removeAtExit = tmpl;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(removeAtExit, ec);
    });
    return tmpl;
  }();
  return folder;
}

std::string writeInput(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = scratchFolder() + "/" + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

void splitInput(const uint8_t* data, size_t size, std::string* first, std::string* second) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const size_t at = all.find("|||\n");
  *first = std::string(all.substr(0, at));
  *second = at == std::string_view::npos ? std::string() : std::string(all.substr(at + 4));
}

}  // namespace edgeopt::fuzz
