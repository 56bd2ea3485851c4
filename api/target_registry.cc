#include "targets/target.h"

#include "targets/arm_neon/arm_neon_target.h"
#include "targets/fpga_hls/fpga_hls_target.h"
#include "targets/ref/ref_target.h"
#include "targets/x86/x86_target.h"

namespace edgeopt::targets {

const std::vector<const Target*>& registry() {
  static const std::vector<const Target*> targets = {
      // The reference executor first: the numerical definition every other target is checked against.
      &refTarget(),
      &x86Target(),
      &armNeonTarget(),
      &fpgaHlsTarget(),
  };
  return targets;
}

StatusOr<const Target*> find(const std::string& name) {
  for (const Target* t : registry())
    if (t->info().name == name) return t;
  return invalidInput("unknown target '" + name + "' (available: " + names() + ")");
}

std::string names() {
  std::string s;
  for (const Target* t : registry()) s += (s.empty() ? "" : ", ") + t->info().name;
  return s;
}

StatusOr<std::vector<Step>> Executable::steps(const std::vector<std::vector<int64_t>>&) {
  return std::vector<Step>{};
}

StatusOr<std::vector<ir::Tensor>> Executable::runProfiled(const std::vector<ir::Tensor>& inputs,
                                                          std::vector<double>* stepSeconds) {
  if (stepSeconds) stepSeconds->clear();
  return run(inputs);
}

StatusOr<MemoryFigures> Executable::memory(const std::vector<std::vector<int64_t>>&) { return MemoryFigures{}; }

StatusOr<std::vector<ir::Tensor>> Executable::runObserving(const std::vector<ir::Tensor>&, const Observer&) {
  return unsupported("this target cannot show intermediate values");
}

}  // namespace edgeopt::targets
