// The pass interface every graph transformation implements, and local rewrite rules.
//
// A pass is a stateless object: run() may be called on any graph any number of times and is
// idempotent (a second run reports changed == false). It preserves the names, dtypes and
// computed values of the graph's inputs and outputs, up to its stated tolerance.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "compiler/ir/ir.h"
#include "compiler/ir/status.h"

namespace edgeopt::pass {

struct PassInfo {
  std::string name;         // registry name, e.g. "fold_batchnorm"
  std::string description;  // one line for --help / --list-passes
  // Passes that must run earlier in the same pipeline for this one to find what it rewrites.
  std::vector<std::string> prerequisites;
  // Largest change of any graph output, relative to that output's largest magnitude, that the
  // pass may cause (fp32 reassociation); --verify checks it.
  double tolerance = 1e-6;
};

// Per-run state handed to every pass.
struct PassContext {
  // Passes that materialize tensors (constant folding) do not create one larger than this.
  int64_t maxFoldedElements = int64_t{1} << 24;
};

class Pass {
 public:
  virtual ~Pass() = default;
  virtual const PassInfo& info() const = 0;
  virtual Status run(ir::Graph& graph, PassContext& context, bool* changed) const = 0;
};

// A local rewrite: the op types it targets, a cheap structural match (most selective checks
// first), then the rewrite. apply() is only called after match() returned true.
class RewriteRule {
 public:
  virtual ~RewriteRule() = default;
  virtual std::vector<std::string> targetOps() const = 0;
  virtual bool match(const ir::Node& node) const = 0;
  // Rewrites around `node`; may remove `node`. Sets *changed when the graph changed.
  virtual Status apply(ir::Graph& graph, ir::Node& node, bool* changed) const = 0;
};

// A pass made of rewrite rules, applied over the graph in order until none fires (bounded).
class RulePass : public Pass {
 public:
  RulePass(PassInfo info, std::vector<std::unique_ptr<RewriteRule>> rules)
      : info_(std::move(info)), rules_(std::move(rules)) {}
  const PassInfo& info() const override { return info_; }
  Status run(ir::Graph& graph, PassContext& context, bool* changed) const override;

 private:
  PassInfo info_;
  std::vector<std::unique_ptr<RewriteRule>> rules_;
};

}  // namespace edgeopt::pass
