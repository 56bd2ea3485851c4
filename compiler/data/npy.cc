#include "compiler/data/npy.h"

#include <charconv>
#include <cstdio>
#include <fstream>
#include <regex>

#include "compiler/support/files.h"

namespace edgeopt::data {
namespace {
using ir::DType;

const char* descrOf(DType t) {
  switch (t) {
    case DType::kFloat32: return "<f4";
    case DType::kFloat64: return "<f8";
    case DType::kFloat16: return "<f2";
    case DType::kInt8: return "|i1";
    case DType::kUInt8: return "|u1";
    case DType::kInt16: return "<i2";
    case DType::kUInt16: return "<u2";
    case DType::kInt32: return "<i4";
    case DType::kUInt32: return "<u4";
    case DType::kInt64: return "<i8";
    case DType::kUInt64: return "<u8";
    case DType::kBool: return "|b1";
    default: return nullptr;
  }
}

DType dtypeOfDescr(const std::string& d) {
  // '<' little-endian, '|' not applicable, '=' native (little on every supported host).
  if (d.size() < 3 || (d[0] != '<' && d[0] != '|' && d[0] != '=')) return DType::kUndefined;
  const std::string k = d.substr(1);
  if (k == "f4") return DType::kFloat32;
  if (k == "f8") return DType::kFloat64;
  if (k == "f2") return DType::kFloat16;
  if (k == "i1") return DType::kInt8;
  if (k == "u1") return DType::kUInt8;
  if (k == "i2") return DType::kInt16;
  if (k == "u2") return DType::kUInt16;
  if (k == "i4") return DType::kInt32;
  if (k == "u4") return DType::kUInt32;
  if (k == "i8") return DType::kInt64;
  if (k == "u8") return DType::kUInt64;
  if (k == "b1") return DType::kBool;
  return DType::kUndefined;
}
}  // namespace

namespace {
// Parses the header from `in` (positioned at the start); leaves it at the first data byte.
StatusOr<NpyHeader> parseHeader(std::ifstream& in, const std::string& path) {
  char magic[8];
  if (!in.read(magic, 8) || std::string(magic, 6) != "\x93NUMPY")
    return invalidInput(path + ": not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(magic[6]);
  uint32_t headerLen = 0;
  if (major == 1) {
    unsigned char b[2];
    if (!in.read(reinterpret_cast<char*>(b), 2)) return invalidInput(path + ": truncated header");
    headerLen = b[0] | (b[1] << 8);
  } else if (major == 2 || major == 3) {
    unsigned char b[4];
    if (!in.read(reinterpret_cast<char*>(b), 4)) return invalidInput(path + ": truncated header");
    headerLen = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<uint32_t>(b[3]) << 24);
  } else {
    return unsupported(path + ": .npy format version " + std::to_string(major) + " is not supported");
  }
  if (headerLen > (1u << 20)) return invalidInput(path + ": header too large");
  std::string header(headerLen, '\0');
  if (!in.read(header.data(), headerLen)) return invalidInput(path + ": truncated header");

  std::smatch m;
  static const std::regex descrRe(R"('descr'\s*:\s*'([^']*)')");
  static const std::regex fortranRe(R"('fortran_order'\s*:\s*(True|False))");
  static const std::regex shapeRe(R"('shape'\s*:\s*\(([^)]*)\))");
  if (!std::regex_search(header, m, descrRe)) return invalidInput(path + ": header has no descr");
  const std::string descr = m[1];
  NpyHeader h;
  h.dtype = dtypeOfDescr(descr);
  if (h.dtype == DType::kUndefined)
    return unsupported(path + ": element type '" + descr + "' is not supported (little-endian "
                              "float16/32/64, int8-64, uint8-64 or bool)");
  if (!std::regex_search(header, m, fortranRe)) return invalidInput(path + ": header has no fortran_order");
  if (m[1] == "True") return unsupported(path + ": Fortran-order arrays are not supported; save with C order");
  if (!std::regex_search(header, m, shapeRe)) return invalidInput(path + ": header has no shape");
  // "(2, 3)", "(5,)" or "()": comma-separated non-negative integers, each checked for overflow.
  const std::string shapeText = m[1];
  size_t pos = 0;
  while (pos <= shapeText.size()) {
    size_t comma = shapeText.find(',', pos);
    if (comma == std::string::npos) comma = shapeText.size();
    std::string entry = shapeText.substr(pos, comma - pos);
    entry.erase(0, entry.find_first_not_of(" \t"));
    entry.erase(entry.find_last_not_of(" \tL") + 1);
    pos = comma + 1;
    if (entry.empty()) {
      if (comma == shapeText.size()) break;  // the trailing comma of "(5,)"
      return invalidInput(path + ": shape (" + shapeText + ") has an empty entry");
    }
    int64_t d = 0;
    const auto [end, ec] = std::from_chars(entry.data(), entry.data() + entry.size(), d);
    if (ec == std::errc::result_out_of_range)
      return invalidInput(path + ": shape (" + shapeText + "): dimension " + entry + " is too large");
    if (ec != std::errc() || end != entry.data() + entry.size() || d < 0)
      return invalidInput(path + ": shape (" + shapeText + "): '" + entry + "' is not a dimension (a non-negative integer)");
    h.dims.push_back(d);
  }
  if (!ir::checkedNumElements(h.dims, ir::dtypeSize(h.dtype)))
    return invalidInput(path + ": shape " + ir::dimsToString(h.dims) + " has more elements than fit in memory");
  h.dataOffset = static_cast<int64_t>(in.tellg());
  return h;
}
}  // namespace

StatusOr<NpyHeader> readNpyHeader(const std::string& path) {
  EDGEOPT_RETURN_IF_ERROR(support::checkRegularFile(path));
  std::ifstream in(path, std::ios::binary);
  if (!in) return ioError(path + ": cannot open for reading");
  EDGEOPT_ASSIGN_OR_RETURN(NpyHeader h, parseHeader(in, path));
  in.seekg(0, std::ios::end);
  const int64_t need = h.dataOffset + *ir::checkedNumElements(h.dims) * static_cast<int64_t>(ir::dtypeSize(h.dtype));
  if (static_cast<int64_t>(in.tellg()) < need)
    return invalidInput(path + ": data is truncated (shape " + ir::dimsToString(h.dims) + " of " +
                        ir::dtypeName(h.dtype) + " needs " + std::to_string(need - h.dataOffset) + " bytes)");
  return h;
}

StatusOr<ir::Tensor> readNpy(const std::string& path) {
  EDGEOPT_RETURN_IF_ERROR(support::checkRegularFile(path));
  std::ifstream in(path, std::ios::binary);
  if (!in) return ioError(path + ": cannot open for reading");
  EDGEOPT_ASSIGN_OR_RETURN(NpyHeader h, parseHeader(in, path));
  // The data must be in the file before its size is allocated (a 200-byte file may declare 5 GB).
  const int64_t need = *ir::checkedNumElements(h.dims) * static_cast<int64_t>(ir::dtypeSize(h.dtype));
  in.seekg(0, std::ios::end);
  const int64_t present = static_cast<int64_t>(in.tellg()) - h.dataOffset;
  if (present < need)
    return invalidInput(path + ": data is truncated (shape " + ir::dimsToString(h.dims) + " of " + ir::dtypeName(h.dtype) +
                        " needs " + std::to_string(need) + " bytes, the file has " + std::to_string(present) + ")");
  in.seekg(h.dataOffset);
  if (std::string why = ir::tensorSizeProblem(h.dims, h.dtype); !why.empty()) return invalidInput(path + ": " + why);
  ir::Tensor t(h.dtype, h.dims);
  if (!in.read(static_cast<char*>(t.rawData()), static_cast<std::streamsize>(t.byteSize())))
    return invalidInput(path + ": data is truncated (shape " + ir::dimsToString(h.dims) + " of " +
                        ir::dtypeName(h.dtype) + " needs " + std::to_string(t.byteSize()) + " bytes)");
  return t;
}

namespace {
// Magic, version 1.0, header length and header of an array of `descr` elements with `dims`.
std::string npyPreamble(const char* descr, const std::vector<int64_t>& dims) {
  std::string shape = "(";
  for (size_t i = 0; i < dims.size(); ++i) shape += std::to_string(dims[i]) + ", ";
  if (dims.size() > 1) shape.resize(shape.size() - 2);
  else if (dims.size() == 1) shape.resize(shape.size() - 1);
  shape += ")";
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad so that magic + length + header is a multiple of 64, ending in '\n'.
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  const uint16_t len = static_cast<uint16_t>(header.size());
  std::string bytes("\x93NUMPY\x01\x00", 8);
  bytes.push_back(static_cast<char>(len & 0xFF));
  bytes.push_back(static_cast<char>(len >> 8));
  bytes += header;
  return bytes;
}
}  // namespace

Status writeNpy(const ir::Tensor& t, const std::string& path) {
  const char* descr = descrOf(t.dtype());
  if (!descr) return unsupported(std::string("cannot write ") + ir::dtypeName(t.dtype()) + " to .npy");
  std::string bytes = npyPreamble(descr, t.dims());
  bytes.append(static_cast<const char*>(t.rawData()), t.byteSize());
  return support::writeFileAtomically(path, bytes);
}

Status writeNpyRows(const std::string& path, const std::vector<int64_t>& dims,
                    const std::function<Status(int64_t row, float* out)>& rowValues) {
  if (dims.empty()) return invalidInput("writeNpyRows needs at least one dim");
  int64_t rowSize = 1;
  for (size_t i = 1; i < dims.size(); ++i) rowSize *= dims[i];
  return support::writeFileAtomically(path, [&](const std::function<Status(const void*, size_t)>& write) -> Status {
    const std::string preamble = npyPreamble("<f4", dims);
    EDGEOPT_RETURN_IF_ERROR(write(preamble.data(), preamble.size()));
    std::vector<float> row(static_cast<size_t>(rowSize));
    for (int64_t r = 0; r < dims[0]; ++r) {
      EDGEOPT_RETURN_IF_ERROR(rowValues(r, row.data()));
      EDGEOPT_RETURN_IF_ERROR(write(row.data(), row.size() * sizeof(float)));
    }
    return Status::Ok();
  });
}

}  // namespace edgeopt::data
