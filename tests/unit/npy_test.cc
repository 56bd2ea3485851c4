#include "compiler/data/npy.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace edgeopt::data {
namespace {
namespace fs = std::filesystem;

class NpyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("edgeopt-npy-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) { return (dir_ / name).string(); }
  void writeRaw(const std::string& name, const std::string& bytes) {
    std::ofstream(path(name), std::ios::binary) << bytes;
  }
  fs::path dir_;
};

template <typename T>
void roundTrip(const std::string& file, std::vector<int64_t> dims, std::vector<T> values) {
  ir::Tensor t = ir::Tensor::fromVector<T>(dims, values);
  ASSERT_TRUE(writeNpy(t, file).ok());
  auto back = readNpy(file);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->dtype(), t.dtype());
  EXPECT_EQ(back->dims(), dims);
  ASSERT_EQ(back->byteSize(), t.byteSize());
  if (t.byteSize() > 0) EXPECT_EQ(std::memcmp(back->rawData(), t.rawData(), t.byteSize()), 0);  // memcmp(null, ...) is undefined
}

TEST_F(NpyTest, RoundTripsEveryDType) {
  roundTrip<float>(path("f.npy"), {2, 3}, {1, 2, 3, 4, 5, -6.5f});
  roundTrip<double>(path("d.npy"), {1}, {3.25});
  roundTrip<int8_t>(path("i8.npy"), {3}, {-128, 0, 127});
  roundTrip<uint8_t>(path("u8.npy"), {2, 1}, {0, 255});
  roundTrip<int32_t>(path("i32.npy"), {2}, {-7, 9});
  roundTrip<int64_t>(path("i64.npy"), {}, {1LL << 40});
  roundTrip<bool>(path("b.npy"), {2}, {true, false});
  roundTrip<float>(path("empty.npy"), {0, 4}, {});
}

TEST_F(NpyTest, HeaderIsAlignedAndNumpyReadable) {
  ASSERT_TRUE(writeNpy(ir::Tensor::fromVector<float>({5}, {1, 2, 3, 4, 5}), path("a.npy")).ok());
  std::ifstream in(path("a.npy"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  const size_t headerEnd = 10 + (static_cast<unsigned char>(bytes[8]) | (bytes[9] << 8));
  EXPECT_EQ(headerEnd % 64, 0u);
  EXPECT_EQ(bytes[headerEnd - 1], '\n');
  EXPECT_NE(bytes.find("'shape': (5,)"), std::string::npos);
}

TEST_F(NpyTest, RejectsBadFiles) {
  EXPECT_EQ(readNpy(path("missing.npy")).status().code(), StatusCode::kIoError);
  writeRaw("text.npy", "hello world, not numpy");
  EXPECT_NE(readNpy(path("text.npy")).status().message().find("bad magic"), std::string::npos);

  ASSERT_TRUE(writeNpy(ir::Tensor::fromVector<float>({4}, {1, 2, 3, 4}), path("ok.npy")).ok());
  std::ifstream in(path("ok.npy"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  writeRaw("trunc.npy", bytes.substr(0, bytes.size() - 3));
  auto t = readNpy(path("trunc.npy"));
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("truncated"), std::string::npos) << t.status().message();

  std::string fortran = bytes;
  fortran.replace(fortran.find("False"), 5, "True ");
  writeRaw("fortran.npy", fortran);
  EXPECT_NE(readNpy(path("fortran.npy")).status().message().find("Fortran"), std::string::npos);

  std::string bigEndian = bytes;
  bigEndian.replace(bigEndian.find("<f4"), 3, ">f4");
  writeRaw("be.npy", bigEndian);
  EXPECT_EQ(readNpy(path("be.npy")).status().code(), StatusCode::kUnsupported);
}

// Shapes from the header (issue 20): a negative entry (read as 2 before), an entry beyond int64
// (std::stoll threw: exit 1), a product beyond memory, and a small file declaring gigabytes (the
// tensor was allocated before the read found it short) are all refused with the reason.
TEST_F(NpyTest, ShapesAreCheckedBeforeAllocation) {
  ASSERT_TRUE(writeNpy(ir::Tensor::fromVector<float>({4}, {1, 2, 3, 4}), path("ok.npy")).ok());
  std::ifstream in(path("ok.npy"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  auto withShape = [&](const std::string& name, const std::string& shape) {
    std::string b = bytes;
    const size_t at = b.find("(4,)");
    b.replace(at, 4, shape);
    // Keep the header length the file declares: pad or trim the spaces before its newline.
    const size_t nl = b.find('\n');
    const int64_t delta = static_cast<int64_t>(shape.size()) - 4;
    if (delta > 0) b.erase(nl - static_cast<size_t>(delta), static_cast<size_t>(delta));
    else b.insert(nl, static_cast<size_t>(-delta), ' ');
    writeRaw(name, b);
    return readNpy(path(name));
  };
  auto negative = withShape("neg.npy", "(-2,)");
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.status().message().find("'-2' is not a dimension"), std::string::npos) << negative.status().message();
  auto huge = withShape("huge.npy", "(99999999999999999999,)");
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.status().message().find("is too large"), std::string::npos) << huge.status().message();
  auto product = withShape("product.npy", "(4294967296, 4294967296)");
  ASSERT_FALSE(product.ok());
  EXPECT_NE(product.status().message().find("more elements than fit in memory"), std::string::npos);
  auto big = withShape("big.npy", "(700000000,)");
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.status().message().find("needs 2800000000 bytes, the file has 16"), std::string::npos)
      << big.status().message();
  auto fine = withShape("fine.npy", "(2, 2)");
  ASSERT_TRUE(fine.ok()) << fine.status().message();
  EXPECT_EQ(fine->dims(), (std::vector<int64_t>{2, 2}));
}

TEST_F(NpyTest, FailedWriteLeavesNothing) {
  const std::string target = path("no/such/dir/out.npy");
  EXPECT_FALSE(writeNpy(ir::Tensor::fromVector<float>({1}, {1}), target).ok());
  EXPECT_FALSE(fs::exists(target));
}

}  // namespace
}  // namespace edgeopt::data
