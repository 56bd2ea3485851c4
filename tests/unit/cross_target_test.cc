// One test over the target registry: every quantized zoo model, run by every target that runs
// int8 (and whose tools are installed here), gives the reference executor's outputs bit for bit
// on the bundled images. A target may decline a model it has no form for (kUnsupported, said
// here), but must run at least one. A new target joins by being registered.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>

#include "api/edgeopt.h"
#include "tests/unit/zoo_data.h"

namespace edgeopt {
namespace {

TEST(CrossTargetTest, ZooInt8BitExactOnEveryTarget) {
  const auto zoo = testing::zooManifest();
  int compared = 0;
  std::map<std::string, int> perTarget;
  for (const auto& [name, entry] : zoo["models"].items()) {
    SCOPED_TRACE(name);
    auto model = api::loadModel((testing::kZoo / entry["file"].get<std::string>()).string());
    ASSERT_TRUE(model.ok());
    const std::string preprocess = entry["preprocess"].get<std::string>();
    ASSERT_TRUE(testing::quantizeWithBundled(model.value(), preprocess, 100).ok());
    auto ref = api::ModelRunner::create(model.value(), api::runnerOptionsFor("ref", 1));
    ASSERT_TRUE(ref.ok());
    const auto batches = testing::bundledBatches(preprocess, 250);
    for (const targets::Target* target : targets::registry()) {
      const std::string t = target->info().name;
      if (t == "ref" || !target->info().int8) continue;
      if (Status tools = target->available(); !tools.ok()) {
        std::cout << "[ skipped  ] " << t << ": " << tools.message() << "\n";
        continue;
      }
      SCOPED_TRACE(t);
      perTarget[t] += 0;
      auto runner = api::ModelRunner::create(model.value(), api::runnerOptionsFor(t, 1));
      if (!runner.ok() && runner.status().code() == StatusCode::kUnsupported) {
        std::cout << "[ declined ] " << t << " " << name << ": " << runner.status().message() << "\n";
        continue;
      }
      ASSERT_TRUE(runner.ok()) << runner.status().message();
      for (const ir::Tensor& batch : batches) {
        auto want = ref.value()->run({batch});
        auto got = runner.value()->run({batch});
        ASSERT_TRUE(want.ok() && got.ok()) << (got.ok() ? "" : got.status().message());
        ASSERT_EQ(want.value()[0].dims(), got.value()[0].dims());
        for (int64_t i = 0; i < want.value()[0].numel(); ++i)
          ASSERT_EQ(want.value()[0].data<float>()[i], got.value()[0].data<float>()[i]) << "element " << i;
      }
      ++compared;
      ++perTarget[t];
    }
  }
  EXPECT_GT(compared, 0);
  for (const auto& [t, models] : perTarget) EXPECT_GT(models, 0) << t << " ran no zoo model";
}

}  // namespace
}  // namespace edgeopt
