#include "targets/ref/ref_target.h"

#include "targets/common/reference_executable.h"

namespace edgeopt::targets {
namespace {

class RefTarget : public Target {
 public:
  const TargetInfo& info() const override {
    static const TargetInfo info{"ref", "edgeopt's reference executor (scalar kernels: the numerical definition)",
                                 true, true, false};
    return info;
  }
  StatusOr<std::unique_ptr<Executable>> load(ir::Model prepared, const TargetOptions& options) const override {
    return ReferenceExecutable::create(std::move(prepared), options.observed);
  }
};

}  // namespace

const Target& refTarget() {
  static const RefTarget target;
  return target;
}

}  // namespace edgeopt::targets
