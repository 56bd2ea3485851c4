#include "api/split.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "api/bench.h"
#include "api/exits.h"
#include "api/graph_copy.h"
#include "api/optimize.h"
#include "api/quantize.h"
#include "api/svg_plot.h"
#include "targets/target.h"
#include "compiler/pass/pass_manager.h"
#include "compiler/support/files.h"
#include "compiler/runtime/executor.h"

namespace edgeopt::api {
namespace {

// The model's nodes split into the sequence that is cut and the nodes copied where needed.
struct Sequence {
  std::vector<const ir::Node*> nodes;                      // the cut sequence, execution order
  std::unordered_map<const ir::Node*, int> index;          // sequence node -> position
  std::unordered_set<const ir::Node*> floating;            // constant-only and activation DequantizeLinear
  std::unordered_map<const ir::Value*, int> lastUse;       // sent values -> last position needing them (N: a graph output)
  std::unordered_map<const ir::Value*, int> definedAt;     // sent values -> position of their producer (-1: graph input)
  std::vector<const ir::Value*> sendable;                  // the keys above, in a deterministic order
};

bool isConstantValue(const ir::Value* v, const std::unordered_set<const ir::Node*>& constantNodes) {
  return !v || v->isInitializer() || (v->producer() && constantNodes.count(v->producer()));
}

Sequence buildSequence(const ir::Graph& g) {
  Sequence s;
  std::unordered_set<const ir::Node*> constantNodes;
  for (const ir::Node* n : g.nodes()) {
    bool constant = true;
    for (const ir::Value* v : n->inputs()) constant = constant && isConstantValue(v, constantNodes);
    if (constant) constantNodes.insert(n);
    if (constant || (n->opType() == "DequantizeLinear" && n->domain().empty())) {
      s.floating.insert(n);
    } else {
      s.index[n] = static_cast<int>(s.nodes.size());
      s.nodes.push_back(n);
    }
  }
  const int end = static_cast<int>(s.nodes.size());
  std::unordered_set<const ir::Value*> outputs(g.outputs().begin(), g.outputs().end());
  // The last position that needs a value: a sequence consumer's, or through a floating consumer
  // the positions needing that node's outputs; a graph output is needed at the end.
  std::unordered_map<const ir::Value*, int> memo;
  std::function<int(const ir::Value*)> lastNeed = [&](const ir::Value* v) -> int {
    if (auto it = memo.find(v); it != memo.end()) return it->second;
    int last = outputs.count(v) ? end : -1;
    for (const ir::Use& u : v->uses()) {
      if (auto it = s.index.find(u.node); it != s.index.end()) {
        last = std::max(last, it->second);
      } else {
        for (const ir::Value* o : u.node->outputs())
          if (o) last = std::max(last, lastNeed(o));
      }
    }
    memo[v] = last;
    return last;
  };
  auto consider = [&](const ir::Value* v, int defined) {
    const int last = lastNeed(v);
    if (last < 0) return;
    s.definedAt[v] = defined;
    s.lastUse[v] = last;
    s.sendable.push_back(v);
  };
  for (const ir::Value* v : g.inputs())
    if (!v->isInitializer()) consider(v, -1);
  for (const ir::Node* n : s.nodes)
    for (const ir::Value* v : n->outputs())
      if (v) consider(v, s.index.at(n));
  return s;
}

// Values sent at cut position k: defined before it, needed at or after it.
std::vector<const ir::Value*> crossing(const Sequence& s, int k) {
  std::vector<const ir::Value*> out;
  for (const ir::Value* v : s.sendable)
    if (s.definedAt.at(v) < k && s.lastUse.at(v) >= k) out.push_back(v);
  return out;
}

std::vector<double> prefixSums(const std::vector<double>& c) {
  std::vector<double> p(c.size() + 1, 0.0);
  for (size_t i = 0; i < c.size(); ++i) p[i + 1] = p[i] + c[i];
  return p;
}

// Link i's cost when tier i stops at k: the forward send of what crosses k and the result's return,
// both only when a later tier computes something.
double linkMs(const SplitGraph& g, const Link& link, int k) {
  const int n = static_cast<int>(g.nodes.size());
  if (k >= n) return 0;
  if (!g.cutAllowed[k]) return std::numeric_limits<double>::infinity();
  return g.survivalAt(k) * (link.transferMs(g.cutBytes[k]) + link.transferMs(g.resultBytes));
}

// Per tier, each node's cost as an expectation: times the share of samples that run it.
TierCosts expectedCosts(const SplitGraph& g, const TierCosts& costs) {
  if (g.survival.empty()) return costs;
  TierCosts out = costs;
  for (auto& tier : out)
    for (size_t i = 0; i < tier.size(); ++i) tier[i] *= g.survivalAt(static_cast<int>(i));
  return out;
}

}  // namespace

std::string splitNodeName(const ir::Node& node) { return node.name().empty() ? node.outputs()[0]->name() : node.name(); }

StatusOr<SplitGraph> analyseSplit(const ir::Model& model, const std::map<std::string, std::vector<int64_t>>& inputShapes) {
  const ir::Graph& graph = *model.graph;
  Sequence s = buildSequence(graph);
  if (s.nodes.empty()) return invalidInput("the model has no node that computes on its inputs: nothing to split");
  EDGEOPT_ASSIGN_OR_RETURN(auto inputs, pass::randomInputs(graph, inputShapes, 1));
  EDGEOPT_ASSIGN_OR_RETURN(auto executor, runtime::Executor::create(graph));
  std::unordered_map<const ir::Value*, int64_t> bytes;
  for (size_t i = 0; i < inputs.size(); ++i) bytes[graph.inputs()[i]] = static_cast<int64_t>(inputs[i].byteSize());
  EDGEOPT_ASSIGN_OR_RETURN(auto outputs, executor->run(inputs, [&](const ir::Value& v, const ir::Tensor& t) {
                             bytes[&v] = static_cast<int64_t>(t.byteSize());
                           }));
  SplitGraph g;
  for (const ir::Node* n : s.nodes) {
    g.nodes.push_back(splitNodeName(*n));
    g.ops.push_back(n->qualifiedOpType());
  }
  for (const auto& t : outputs) g.resultBytes += static_cast<int64_t>(t.byteSize());
  for (int k = 0; k < static_cast<int>(s.nodes.size()); ++k) {
    int64_t sum = 0;
    std::vector<std::string> names;
    for (const ir::Value* v : crossing(s, k)) {
      auto it = bytes.find(v);
      if (it == bytes.end()) return internalError("split: no size for '" + v->name() + "' after the reference run");
      sum += it->second;
      names.push_back(v->name());
    }
    g.cutBytes.push_back(sum);
    g.cutTensors.push_back(std::move(names));
    const ir::Node* next = s.nodes[k];
    const ir::Value* nextInput = next->input(0);
    g.cutAllowed.push_back(!(next->opType() == "QuantizeLinear" && next->domain().empty() && nextInput &&
                             nextInput->producer() && s.index.count(nextInput->producer())));
  }
  return g;
}

SplitChoice evaluateSplit(const SplitGraph& g, const TierCosts& nodeCosts, const std::vector<Link>& links,
                          const std::vector<int>& cuts) {
  const int n = static_cast<int>(g.nodes.size());
  const TierCosts costs = expectedCosts(g, nodeCosts);
  SplitChoice c;
  c.cuts = cuts;
  int begin = 0;
  for (size_t tier = 0; tier < costs.size(); ++tier) {
    const int end = tier < cuts.size() ? cuts[tier] : n;
    double ms = 0;
    for (int i = begin; i < end; ++i) ms += costs[tier][i];
    c.computeMs.push_back(ms);
    begin = end;
  }
  for (size_t l = 0; l < links.size(); ++l) c.transferMs.push_back(linkMs(g, links[l], cuts[l]));
  for (double ms : c.computeMs) c.totalMs += ms;
  for (double ms : c.transferMs) c.totalMs += ms;
  return c;
}

SplitChoice bestSplit(const SplitGraph& g, const TierCosts& costs, const std::vector<Link>& links) {
  const int n = static_cast<int>(g.nodes.size());
  const size_t tiers = costs.size();
  std::vector<std::vector<double>> prefix;
  for (const auto& c : expectedCosts(g, costs)) prefix.push_back(prefixSums(c));
  // best[i][k]: the least cost of tiers 0..i with tier i stopping at k (its link's cost included);
  // from[i][k]: tier i-1's stop for it.
  std::vector<std::vector<double>> best(tiers - 1, std::vector<double>(n + 1));
  std::vector<std::vector<int>> from(tiers - 1, std::vector<int>(n + 1, 0));
  for (int k = 0; k <= n; ++k) best[0][k] = prefix[0][k] + linkMs(g, links[0], k);
  for (size_t i = 1; i + 1 < tiers; ++i) {
    double runMin = std::numeric_limits<double>::infinity();
    int arg = 0;
    for (int k = 0; k <= n; ++k) {
      const double candidate = best[i - 1][k] - prefix[i][k];
      if (candidate < runMin) runMin = candidate, arg = k;
      best[i][k] = runMin + prefix[i][k] + linkMs(g, links[i], k);
      from[i][k] = arg;
    }
  }
  const size_t last = tiers - 1;
  double total = std::numeric_limits<double>::infinity();
  int arg = 0;
  for (int k = 0; k <= n; ++k) {
    const double candidate = best[last - 1][k] - prefix[last][k] + prefix[last][n];
    if (candidate < total) total = candidate, arg = k;
  }
  std::vector<int> cuts(tiers - 1);
  cuts[last - 1] = arg;
  for (size_t i = last - 1; i > 0; --i) cuts[i - 1] = from[i][cuts[i]];
  return evaluateSplit(g, costs, links, cuts);
}

SplitChoice bruteForceSplit(const SplitGraph& g, const TierCosts& costs, const std::vector<Link>& links) {
  const int n = static_cast<int>(g.nodes.size());
  std::vector<int> cuts(costs.size() - 1, 0);
  SplitChoice best;
  best.totalMs = std::numeric_limits<double>::infinity();
  while (true) {
    SplitChoice c = evaluateSplit(g, costs, links, cuts);
    if (c.totalMs < best.totalMs) best = c;
    // The next non-decreasing vector in lexicographic order.
    int i = static_cast<int>(cuts.size()) - 1;
    while (i >= 0 && cuts[i] == n) --i;
    if (i < 0) break;
    ++cuts[i];
    for (size_t j = i + 1; j < cuts.size(); ++j) cuts[j] = cuts[i];
  }
  return best;
}

StatusOr<std::vector<ir::Model>> extractParts(const ir::Model& model, const std::vector<int>& cuts) {
  const ir::Graph& g = *model.graph;
  const Sequence s = buildSequence(g);
  const int n = static_cast<int>(s.nodes.size());
  std::vector<int> bounds = {0};
  for (int c : cuts) {
    if (c < bounds.back() || c > n) return invalidInput("split: cut positions must be non-decreasing within 0.." + std::to_string(n));
    bounds.push_back(c);
  }
  bounds.push_back(n);
  std::vector<ir::Model> parts;
  for (size_t p = 0; p + 1 < bounds.size(); ++p) {
    const int begin = bounds[p], end = bounds[p + 1];
    if (begin == end) continue;
    const bool isLast = end == n;
    // The sequence nodes of this part, then the floating nodes they (or the part's graph outputs) need.
    std::unordered_set<const ir::Node*> members;
    for (int i = begin; i < end; ++i) members.insert(s.nodes[i]);
    std::function<void(const ir::Value*)> pull = [&](const ir::Value* v) {
      if (!v || !v->producer() || !s.floating.count(v->producer()) || members.count(v->producer())) return;
      members.insert(v->producer());
      for (const ir::Value* in : v->producer()->inputs()) pull(in);
    };
    for (int i = begin; i < end; ++i)
      for (const ir::Value* in : s.nodes[i]->inputs()) pull(in);
    if (isLast)
      for (const ir::Value* out : g.outputs()) pull(out);

    ir::Model part;
    part.opsets = model.opsets;
    part.irVersion = model.irVersion;
    part.producerName = model.producerName;
    part.producerVersion = model.producerVersion;
    part.graph->setName(g.name() + "_part" + std::to_string(p));
    std::map<const ir::Value*, ir::Value*> copy;
    // Inputs: the original graph inputs for the first part, else exactly what is sent to it.
    const std::vector<const ir::Value*> received =
        begin == 0 ? std::vector<const ir::Value*>(g.inputs().begin(), g.inputs().end()) : crossing(s, begin);
    for (const ir::Value* v : received)
      if (!v->isInitializer()) copy[v] = part.graph->addInput(v->name(), v->dtype(), v->shape());
    const auto sameName = [](const std::string& name) { return name; };
    for (const ir::Node* node : g.nodes())
      if (members.count(node))
        EDGEOPT_RETURN_IF_ERROR(copyNodeInto(*part.graph, *node, &copy, sameName).status().withContext("split part " + std::to_string(p)));
    const std::vector<const ir::Value*> sent =
        isLast ? std::vector<const ir::Value*>(g.outputs().begin(), g.outputs().end()) : crossing(s, end);
    for (const ir::Value* v : sent) {
      auto it = copy.find(v);
      if (it == copy.end()) return internalError("split: part " + std::to_string(p) + " does not have '" + v->name() + "' to send");
      part.graph->markOutput(it->second);
    }
    part.graph->removeUnusedValues();
    EDGEOPT_RETURN_IF_ERROR(part.graph->verify().withContext("split part " + std::to_string(p)));
    parts.push_back(std::move(part));
  }
  return parts;
}

StatusOr<int> soleLiveCut(const ir::Model& model, const std::string& tensor) {
  const Sequence s = buildSequence(*model.graph);
  for (int k = 1; k < static_cast<int>(s.nodes.size()); ++k) {
    const auto live = crossing(s, k);
    if (live.size() == 1 && live[0]->name() == tensor) return k;
  }
  return invalidInput("'" + tensor + "' is never the only tensor live between two nodes");
}

Status checkComposition(const ir::Model& whole, const std::vector<ir::Model>& parts,
                        const std::map<std::string, std::vector<int64_t>>& inputShapes) {
  const ir::Graph& g = *whole.graph;
  EDGEOPT_ASSIGN_OR_RETURN(auto inputs, pass::randomInputs(g, inputShapes, 7));
  EDGEOPT_ASSIGN_OR_RETURN(auto executor, runtime::Executor::create(g));
  EDGEOPT_ASSIGN_OR_RETURN(auto expected, executor->run(inputs));
  std::map<std::string, ir::Tensor> available;
  for (size_t i = 0; i < inputs.size(); ++i) available.emplace(g.inputs()[i]->name(), inputs[i]);
  for (size_t p = 0; p < parts.size(); ++p) {
    const ir::Graph& pg = *parts[p].graph;
    std::vector<ir::Tensor> partInputs;
    for (const ir::Value* v : pg.inputs()) {
      auto it = available.find(v->name());
      if (it == available.end()) return internalError("split: part " + std::to_string(p) + " needs '" + v->name() + "', which no earlier part sends");
      partInputs.push_back(it->second);
    }
    EDGEOPT_ASSIGN_OR_RETURN(auto partExecutor, runtime::Executor::create(pg));
    EDGEOPT_ASSIGN_OR_RETURN(auto partOutputs, partExecutor->run(partInputs));
    for (size_t i = 0; i < partOutputs.size(); ++i) available.insert_or_assign(pg.outputs()[i]->name(), partOutputs[i]);
  }
  for (size_t i = 0; i < expected.size(); ++i) {
    const std::string& name = g.outputs()[i]->name();
    auto it = available.find(name);
    if (it == available.end()) return internalError("split: output '" + name + "' is not computed by the parts");
    const ir::Tensor& a = expected[i];
    const ir::Tensor& b = it->second;
    if (a.dtype() != b.dtype() || a.dims() != b.dims() || a.byteSize() != b.byteSize() ||
        (a.byteSize() > 0 && std::memcmp(a.rawData(), b.rawData(), a.byteSize()) != 0))
      return internalError("split: output '" + name + "' of the composed parts differs from the whole model's");
  }
  return Status::Ok();
}

namespace {

// Per sequence node, the summed step medians of a profile. A step names a node, or a value (a
// target's layout conversion of it: counted with the node that produces it, or for a graph input
// with its first sequence consumer). Steps of floating nodes (constant or dequantize nodes, which
// targets fold) are dropped; a step naming neither a node nor a value of the model means the
// profile was taken on another model: an error.
StatusOr<std::vector<double>> costsFromSteps(const ir::Model& model, const SplitGraph& g, const std::vector<StepProfile>& steps,
                                             const std::string& source) {
  std::unordered_map<std::string, size_t> position;
  for (size_t i = 0; i < g.nodes.size(); ++i) position[g.nodes[i]] = i;
  std::unordered_set<std::string> known;
  for (const ir::Node* n : model.graph->nodes()) known.insert(splitNodeName(*n));
  std::vector<double> ms(g.nodes.size(), 0.0);
  size_t matched = 0;
  // A target that lowers a QDQ model names each int8 step (and its output) after the float node
  // (value) it came from, plus "_int8" (passes/lower_qdq): it counts for that node.
  auto lookup = [&](const std::string& name) {
    static const std::string suffix = "_int8";
    if (known.count(name) || model.graph->findValue(name) || name.size() <= suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      return name;
    return name.substr(0, name.size() - suffix.size());
  };
  for (const auto& step : steps) {
    std::string owner = lookup(step.node);
    if (!known.count(owner)) {
      const ir::Value* v = model.graph->findValue(owner);
      if (!v)
        return invalidInput(source + ": the profile does not match the model: its step '" + step.node + "' (" + step.op +
                            ") names no node or tensor of the model");
      owner.clear();
      if (v->producer()) {
        owner = splitNodeName(*v->producer());
      } else {
        for (const ir::Use& u : v->uses())
          if (position.count(splitNodeName(*u.node)) && (owner.empty() || position.at(splitNodeName(*u.node)) < position.at(owner)))
            owner = splitNodeName(*u.node);
      }
    }
    if (auto it = position.find(owner); it != position.end()) {
      ms[it->second] += step.medianMs;
      ++matched;
    }
  }
  if (!matched) return invalidInput(source + ": the profile does not match the model: none of its steps names a node of it");
  return ms;
}

StatusOr<std::vector<StepProfile>> readBenchProfile(const std::string& path) {
  EDGEOPT_ASSIGN_OR_RETURN(const std::string text, support::readFile(path));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("steps") || !j["steps"].is_array())
    return invalidInput(path + ": not the output of `edgeopt bench --json` (no \"steps\" array)");
  std::vector<StepProfile> steps;
  for (const auto& s : j["steps"]) {
    if (!s.is_object() || !s.contains("node") || !s["node"].is_string() || !s.contains("median_ms") || !s["median_ms"].is_number())
      return invalidInput(path + ": a step without a \"node\" name or a numeric \"median_ms\"");
    StepProfile p;
    p.node = s["node"].get<std::string>();
    p.op = s.value("op", "");
    p.medianMs = s["median_ms"].get<double>();
    if (!(p.medianMs >= 0)) return invalidInput(path + ": step '" + p.node + "' has a negative or NaN median_ms");
    steps.push_back(std::move(p));
  }
  return steps;
}

// The arm-neon target's cost-model estimate (Cortex-A76; int8 models), whole and per step: its
// package is emitted into a temporary folder, which is removed again.
StatusOr<targets::Artifact> armNeonEstimate(const ir::Model& model) {
  EDGEOPT_ASSIGN_OR_RETURN(const targets::Target* target, targets::find("arm-neon"));
  bool quantized = false;
  for (const ir::Node* n : model.graph->nodes()) quantized = quantized || n->opType() == "QuantizeLinear";
  if (!quantized) return invalidInput("--profile TIER=arm-neon: the arm-neon estimate is for int8 models; quantize the model first");
  ir::Model prepared = ir::cloneModel(model);
  EDGEOPT_RETURN_IF_ERROR(prepareForExecution(prepared, target));
  std::string dir = (std::filesystem::temp_directory_path() / "edgeopt-split-XXXXXX").string();
  if (!::mkdtemp(dir.data())) return ioError("cannot create a temporary folder for the arm-neon package");
  const support::PendingRemoval removedOnSignal(dir, /*folder=*/true);
  targets::ArtifactInputs inputs;
  inputs.fp32 = &model;
  inputs.int8 = &prepared;
  auto artifact = target->emit(inputs, dir);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (!artifact.ok()) return artifact.status().withContext("arm-neon");
  if (artifact->estimatedLayers.empty()) return invalidInput("arm-neon gives no per-step estimate for this model");
  return artifact;
}

}  // namespace

// This machine's x86 measurement of `model` (the tiers without a profile, and the device part).
StatusOr<BenchResult> measureHere(const ir::Model& model, const SplitOptions& o) {
  BenchOptions b;
  b.runner = runnerOptionsFor("x86", o.threads);
  b.inputShapes = o.inputShapes;
  b.iters = o.iters;
  return benchmark(model, b);
}

StatusOr<SplitResult> planSplit(const ir::Model& original, const SplitOptions& o) {
  if (o.tiers.size() < 2) return invalidInput("split: at least two tiers (device and one more)");
  if (o.links.size() != o.tiers.size() - 1)
    return invalidInput("split: " + std::to_string(o.tiers.size()) + " tiers need " + std::to_string(o.tiers.size() - 1) +
                        " links (--bandwidth and --rtt values, one per link); got " + std::to_string(o.links.size()));
  for (size_t l = 0; l < o.links.size(); ++l)
    if (!(o.links[l].bandwidthMbps > 0) || !(o.links[l].rttMs >= 0))
      return invalidInput("split: link " + o.tiers[l] + " -> " + o.tiers[l + 1] + " needs a positive bandwidth and a non-negative rtt");
  for (const auto& [tier, file] : o.profileFiles)
    if (std::find(o.tiers.begin(), o.tiers.end(), tier) == o.tiers.end())
      return invalidInput("split: --profile names tier '" + tier + "', which is not one of the tiers");
  for (const auto& [tier, factor] : o.scale) {
    if (std::find(o.tiers.begin(), o.tiers.end(), tier) == o.tiers.end())
      return invalidInput("split: --scale names tier '" + tier + "', which is not one of the tiers");
    if (!(factor > 0)) return invalidInput("split: --scale " + tier + " must be positive");
  }
  // A multi-exit model is cut without its heads; the heads are put back on the tiers of their points.
  EDGEOPT_ASSIGN_OR_RETURN(const std::optional<ExitPolicy> policy, exitPolicyOf(original));
  if (policy)
    for (const auto& e : policy->exits)
      if (e.rate < 0)
        return invalidInput("split: exit '" + e.output + "' records no rate (the model was made by an older edgeopt); add the exits again "
                            "with `edgeopt exits`");
  // The model as the targets run it (and as `bench` profiles name its nodes): cleaned up.
  EDGEOPT_ASSIGN_OR_RETURN(ir::Model model, policy ? withoutExits(original, *policy) : StatusOr<ir::Model>(ir::cloneModel(original)));
  OptimizeReport cleanup;
  EDGEOPT_RETURN_IF_ERROR(optimize(model, {}, &cleanup));
  SplitResult r;
  r.tiers = o.tiers;
  r.links = o.links;
  EDGEOPT_ASSIGN_OR_RETURN(r.graph, analyseSplit(model, o.inputShapes));
  std::vector<ir::Model> heads;
  if (policy) {
    for (const auto& e : policy->exits) {
      SplitResult::ExitAtCut x;
      x.output = e.output;
      x.tensor = exitSentTensor(*original.graph, e.tensor);
      x.rate = e.rate;
      if (!model.graph->findValue(x.tensor))
        return invalidInput("split: exit '" + e.output + "': its tensor '" + x.tensor + "' is not in the cleaned-up model");
      EDGEOPT_ASSIGN_OR_RETURN(x.position, soleLiveCut(model, x.tensor));
      EDGEOPT_ASSIGN_OR_RETURN(ir::Model head, exitHead(original, e));
      heads.push_back(std::move(head));
      r.exits.push_back(std::move(x));
    }
    // survival[k]: the samples not gone at an exit whose point is at or before k.
    r.graph.survival.assign(r.graph.nodes.size() + 1, 1.0);
    for (const auto& x : r.exits)
      for (size_t k = static_cast<size_t>(x.position); k < r.graph.survival.size(); ++k) r.graph.survival[k] -= x.rate;
    for (double& v : r.graph.survival) v = std::max(0.0, v);
  }
  std::vector<StepProfile> measuredHere;
  for (const auto& tier : o.tiers) {
    std::vector<double> ms;
    std::string source;
    if (auto file = o.profileFiles.find(tier); file != o.profileFiles.end() && file->second == "arm-neon") {
      EDGEOPT_ASSIGN_OR_RETURN(const targets::Artifact estimate, armNeonEstimate(model));
      std::vector<StepProfile> steps;
      for (const auto& layer : estimate.estimatedLayers) {
        StepProfile p;
        p.node = layer.node;
        p.op = layer.op;
        p.medianMs = layer.ms;
        steps.push_back(std::move(p));
      }
      EDGEOPT_ASSIGN_OR_RETURN(ms, costsFromSteps(model, r.graph, steps, "the arm-neon estimate"));
      source = "arm-neon cost model (Cortex-A76 at 2.4 GHz, llvm-mca kernel throughputs, compute only)";
    } else if (file != o.profileFiles.end()) {
      EDGEOPT_ASSIGN_OR_RETURN(auto steps, readBenchProfile(file->second));
      EDGEOPT_ASSIGN_OR_RETURN(ms, costsFromSteps(model, r.graph, steps, file->second));
      source = file->second;
    } else {
      if (measuredHere.empty()) {
        EDGEOPT_ASSIGN_OR_RETURN(auto bench, measureHere(model, o));
        measuredHere = bench.steps;
        if (measuredHere.empty()) return internalError("split: the x86 target gave no per-step profile");
      }
      EDGEOPT_ASSIGN_OR_RETURN(ms, costsFromSteps(model, r.graph, measuredHere, "this machine's x86 profile"));
      source = "measured here (x86, " + std::to_string(o.threads) + " thread" + (o.threads == 1 ? "" : "s") + ")";
    }
    const auto factor = o.scale.find(tier);
    if (factor != o.scale.end()) {
      for (double& v : ms) v *= factor->second;
      char buf[48];
      std::snprintf(buf, sizeof buf, " x %g", factor->second);
      source += buf;
    }
    r.costs.push_back(std::move(ms));
    r.costSource.push_back(std::move(source));
  }
  if (policy) {
    // The choice for the model without exits, before the heads join the costs.
    SplitGraph plain = r.graph;
    plain.survival.clear();
    r.withoutExits = bestSplit(plain, r.costs, r.links);
    // Each head's cost, measured here on x86 (times each tier's scale), joins the node that
    // computes its point: the head runs where its point is computed, before any send there.
    for (size_t e = 0; e < r.exits.size(); ++e) {
      BenchOptions b;
      b.runner = runnerOptionsFor("x86", o.threads);
      b.iters = o.iters;
      EDGEOPT_ASSIGN_OR_RETURN(const BenchResult bench, benchmark(heads[e], b));
      for (size_t t = 0; t < r.tiers.size(); ++t) {
        const auto factor = o.scale.find(r.tiers[t]);
        r.exits[e].headMs.push_back(bench.medianMs * (factor != o.scale.end() ? factor->second : 1.0));
        r.costs[t][static_cast<size_t>(r.exits[e].position - 1)] += r.exits[e].headMs.back();
      }
    }
    for (auto& source : r.costSource) source += "; exit heads measured here on x86, with the tier's scale";
  }
  r.best = bestSplit(r.graph, r.costs, r.links);
  r.bruteForce = bruteForceSplit(r.graph, r.costs, r.links);
  r.allOnDevice = evaluateSplit(r.graph, r.costs, r.links, std::vector<int>(r.links.size(), static_cast<int>(r.graph.nodes.size())));
  for (double mbps : o.sweepMbps) {
    std::vector<Link> links = r.links;
    links[0].bandwidthMbps = mbps;
    r.sweep.emplace_back(mbps, bestSplit(r.graph, r.costs, links));
  }
  EDGEOPT_ASSIGN_OR_RETURN(r.parts, extractParts(model, r.best.cuts));
  // The device part without exit heads: what the arm-neon estimate below can package (one output).
  std::optional<ir::Model> bareDevicePart;
  if (!r.parts.empty()) bareDevicePart = ir::cloneModel(r.parts[0]);
  int begin = 0;
  for (size_t t = 0; t < r.tiers.size(); ++t) {
    const int end = t < r.best.cuts.size() ? r.best.cuts[t] : static_cast<int>(r.graph.nodes.size());
    if (end > begin) {
      // The heads whose point this part computes (the node before the point is in it).
      for (size_t e = 0; e < r.exits.size(); ++e)
        if (r.exits[e].position - 1 >= begin && r.exits[e].position - 1 < end) {
          EDGEOPT_RETURN_IF_ERROR(attachExitHead(*r.parts[r.partTiers.size()].graph, heads[e]).withContext("split: exit '" + r.exits[e].output + "'"));
          if (t == 0) r.devicePartHeadsMs += r.exits[e].headMs[0];
        }
      if (t == 0) {
        r.devicePartPredictedMs = 0;
        for (int i = begin; i < end; ++i) r.devicePartPredictedMs += r.costs[0][static_cast<size_t>(i)];
      }
      r.partTiers.push_back(r.tiers[t]);
    }
    begin = std::max(begin, end);
  }
  // The parts compose to the whole, exits included: the cleaned model with every head attached.
  ir::Model whole = ir::cloneModel(model);
  for (const auto& head : heads) EDGEOPT_RETURN_IF_ERROR(attachExitHead(*whole.graph, head).withContext("split"));
  EDGEOPT_RETURN_IF_ERROR(checkComposition(whole, r.parts, o.inputShapes));
  const bool devicePart = !r.partTiers.empty() && r.partTiers[0] == r.tiers[0];
  const auto deviceProfile = o.profileFiles.find(r.tiers[0]);
  if (devicePart && deviceProfile != o.profileFiles.end() && deviceProfile->second == "arm-neon") {
    // The package takes and gives float: an int8 tensor the part sends is decoded at its end (as
    // the next part does first), which the estimate then includes.
    ir::Model device = ir::cloneModel(*bareDevicePart);
    ir::Graph& g = *device.graph;
    std::vector<ir::Value*> outputs = g.outputs();
    for (ir::Value*& out : outputs) {
      const ir::Node* q = out->producer();
      if (!q || q->opType() != "QuantizeLinear" || q->numInputs() < 2) continue;
      std::vector<ir::Value*> ins = {out, q->input(1)};
      if (q->input(2)) ins.push_back(q->input(2));
      out = g.addNode("DequantizeLinear", ins, {g.uniqueName(out->name() + "_decoded")}, g.uniqueName(q->name() + "_decode"))->output(0);
      out->setDType(ir::DType::kFloat32);
      out->setShape(q->input(0)->shape());
    }
    g.setOutputs(outputs);
    EDGEOPT_ASSIGN_OR_RETURN(const targets::Artifact estimate, armNeonEstimate(device));
    r.devicePartEstimateMs = estimate.estimatedLatencyMs;
  }
  if (devicePart && deviceProfile == o.profileFiles.end()) {
    EDGEOPT_ASSIGN_OR_RETURN(auto bench, measureHere(r.parts[0], o));
    // On the scale of the prediction: a --scale of the device applies to its measurement too.
    const auto factor = o.scale.find(r.tiers[0]);
    r.measuredDevicePartMs = bench.medianMs * (factor != o.scale.end() ? factor->second : 1.0);
  }
  return r;
}

namespace {

std::string formatMs(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, ms >= 10 ? "%.2f ms" : ms >= 0.1 ? "%.3f ms" : "%.4f ms", ms);
  return buf;
}

std::string formatBytes(int64_t b) {
  char buf[32];
  if (b >= 1 << 20) std::snprintf(buf, sizeof buf, "%.2f MB", static_cast<double>(b) / (1 << 20));
  else if (b >= 1 << 10) std::snprintf(buf, sizeof buf, "%.1f KB", static_cast<double>(b) / (1 << 10));
  else std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(b));
  return buf;
}

// "device: [0, 12) conv1 .. stage1/add; edge: [12, 30) ...; cloud: nothing"
std::string describeAssignment(const SplitResult& r, const SplitChoice& c) {
  std::string s;
  int begin = 0;
  const int n = static_cast<int>(r.graph.nodes.size());
  for (size_t t = 0; t < r.tiers.size(); ++t) {
    const int end = t < c.cuts.size() ? c.cuts[t] : n;
    if (!s.empty()) s += "; ";
    s += r.tiers[t] + ": ";
    if (end <= begin) s += "nothing";
    else if (end - begin == 1) s += "1 node (" + r.graph.nodes[begin] + ")";
    else s += std::to_string(end - begin) + " nodes (" + r.graph.nodes[begin] + " .. " + r.graph.nodes[end - 1] + ")";
    begin = std::max(begin, end);
  }
  return s;
}

}  // namespace

std::string splitText(const SplitResult& r) {
  std::string s;
  const int n = static_cast<int>(r.graph.nodes.size());
  s += "sequence: " + std::to_string(n) + " nodes; result " + formatBytes(r.graph.resultBytes) + "\n";
  for (size_t t = 0; t < r.tiers.size(); ++t) {
    double sum = 0;
    for (double v : r.costs[t]) sum += v;
    s += "  " + r.tiers[t] + ": " + formatMs(sum) + " for the whole model, " + r.costSource[t] + "\n";
  }
  for (size_t l = 0; l < r.links.size(); ++l) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "  link %s -> %s: %g Mbit/s, rtt %g ms\n", r.tiers[l].c_str(), r.tiers[l + 1].c_str(),
                  r.links[l].bandwidthMbps, r.links[l].rttMs);
    s += buf;
  }
  auto line = [&](const char* label, const SplitChoice& c) {
    std::string t = std::string(label) + ": " + formatMs(c.totalMs) + " = compute";
    for (size_t i = 0; i < c.computeMs.size(); ++i) t += (i ? " + " : " ") + formatMs(c.computeMs[i]);
    t += ", transfer";
    for (size_t i = 0; i < c.transferMs.size(); ++i) t += (i ? " + " : " ") + formatMs(c.transferMs[i]);
    return t + "\n  " + describeAssignment(r, c) + "\n";
  };
  s += line("chosen", r.best);
  for (size_t l = 0; l < r.best.cuts.size(); ++l) {
    const int k = r.best.cuts[l];
    if (k >= n) continue;
    s += "  sent " + r.tiers[l] + " -> " + r.tiers[l + 1] + ": " + formatBytes(r.graph.cutBytes[k]) + " (";
    for (size_t i = 0; i < r.graph.cutTensors[k].size(); ++i) s += (i ? ", " : "") + r.graph.cutTensors[k][i];
    s += ")\n";
  }
  s += line("all on the device", r.allOnDevice);
  const bool agrees = std::abs(r.bruteForce.totalMs - r.best.totalMs) <= 1e-9 * std::max(1.0, r.best.totalMs);
  s += std::string("brute force over every assignment: ") + formatMs(r.bruteForce.totalMs) +
       (agrees ? (r.bruteForce.cuts == r.best.cuts ? " (the same cuts)" : " (other cuts, equal latency)") : " (DISAGREES)") + "\n";
  if (r.measuredDevicePartMs >= 0)
    s += "device part measured here: " + formatMs(r.measuredDevicePartMs) + " (predicted " + formatMs(r.devicePartPredictedMs) +
         "; both with the device's --scale" + (r.exits.empty() ? "" : ", for a sample that runs every head of the part") + ")\n";
  if (r.devicePartEstimateMs >= 0)
    s += "device part as one arm-neon package: " + formatMs(r.devicePartEstimateMs) + " estimated (predicted from the per-step estimates " +
         formatMs(r.devicePartPredictedMs - r.devicePartHeadsMs) + (r.devicePartHeadsMs > 0 ? "; both without its exit heads" : "") + ")\n";
  if (!r.exits.empty()) {
    s += "early exits (costs above are expectations over the exits' recorded rates):\n";
    for (const auto& x : r.exits) {
      size_t tier = 0;
      while (tier < r.best.cuts.size() && x.position - 1 >= r.best.cuts[tier]) ++tier;
      char buf[200];
      std::snprintf(buf, sizeof buf, "  %s after node %d (%s): rate %.1f %%, head %s on the %s\n", x.output.c_str(), x.position,
                    x.tensor.c_str(), 100 * x.rate, formatMs(x.headMs[tier]).c_str(), r.tiers[tier].c_str());
      s += buf;
    }
    s += line("without exits the choice would be", r.withoutExits);
  }
  if (!r.sweep.empty()) {
    s += "bandwidth sweep of link " + r.tiers[0] + " -> " + r.tiers[1] + ":\n";
    for (const auto& [mbps, c] : r.sweep) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "  %10g Mbit/s  %12s  ", mbps, formatMs(c.totalMs).c_str());
      s += buf + describeAssignment(r, c) + "\n";
    }
  }
  return s;
}

std::string splitJson(const SplitResult& r) {
  auto choice = [&](const SplitChoice& c) {
    nlohmann::ordered_json j = {{"cuts", c.cuts}, {"total_ms", c.totalMs}, {"compute_ms", c.computeMs}, {"transfer_ms", c.transferMs}};
    nlohmann::ordered_json sent = nlohmann::ordered_json::array();
    for (int k : c.cuts)
      sent.push_back(k < static_cast<int>(r.graph.nodes.size())
                         ? nlohmann::ordered_json{{"bytes", r.graph.cutBytes[k]}, {"tensors", r.graph.cutTensors[k]}}
                         : nlohmann::ordered_json(nullptr));
    j["sent"] = sent;
    return j;
  };
  nlohmann::ordered_json j;
  j["schema"] = "edgeopt.split/1";
  j["tiers"] = r.tiers;
  nlohmann::ordered_json links = nlohmann::ordered_json::array();
  for (const auto& l : r.links) links.push_back({{"bandwidth_mbps", l.bandwidthMbps}, {"rtt_ms", l.rttMs}});
  j["links"] = links;
  j["cost_source"] = r.costSource;
  nlohmann::ordered_json nodes = nlohmann::ordered_json::array();
  for (size_t i = 0; i < r.graph.nodes.size(); ++i) {
    std::vector<double> ms;
    for (const auto& c : r.costs) ms.push_back(c[i]);
    nodes.push_back({{"node", r.graph.nodes[i]}, {"op", r.graph.ops[i]}, {"ms", ms}, {"cut_bytes_before", r.graph.cutBytes[i]}});
  }
  j["nodes"] = nodes;
  j["result_bytes"] = r.graph.resultBytes;
  j["chosen"] = choice(r.best);
  j["brute_force"] = choice(r.bruteForce);
  j["all_on_device"] = choice(r.allOnDevice);
  j["parts"] = r.partTiers;
  if (r.measuredDevicePartMs >= 0) j["device_part_measured_ms"] = r.measuredDevicePartMs;
  if (r.devicePartEstimateMs >= 0) j["device_part_arm_neon_estimate_ms"] = r.devicePartEstimateMs;
  if (r.devicePartPredictedMs >= 0) j["device_part_predicted_ms"] = r.devicePartPredictedMs;
  if (!r.exits.empty()) {
    nlohmann::ordered_json exits = nlohmann::ordered_json::array();
    for (const auto& x : r.exits)
      exits.push_back({{"output", x.output}, {"tensor", x.tensor}, {"position", x.position}, {"rate", x.rate}, {"head_ms", x.headMs}});
    j["exits"] = exits;
    j["survival"] = r.graph.survival;
    j["without_exits"] = choice(r.withoutExits);
  }
  nlohmann::ordered_json sweep = nlohmann::ordered_json::array();
  for (const auto& [mbps, c] : r.sweep) {
    auto e = choice(c);
    e["bandwidth_mbps"] = mbps;
    sweep.push_back(e);
  }
  j["sweep"] = sweep;
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string splitHtml(const SplitResult& r, const std::string& modelName) {
  using svg::escape;
  using svg::number;
  const int n = static_cast<int>(r.graph.nodes.size());
  std::string body = "<h1>edgeopt split: " + escape(modelName) + "</h1>\n";
  body += "<p class=\"note\">" + std::to_string(n) + " nodes in the cut sequence; the result is " + std::to_string(r.graph.resultBytes) +
          " bytes. A cut sends every tensor live across it; a transfer costs the link's round trip plus bytes over bandwidth, and the "
          "result returns to the device the same way.</p>\n";
  body += "<table><tr><th>tier</th><th>whole model</th><th>latencies from</th></tr>\n";
  for (size_t t = 0; t < r.tiers.size(); ++t) {
    double sum = 0;
    for (double v : r.costs[t]) sum += v;
    body += "<tr><td>" + escape(r.tiers[t]) + "</td><td>" + number(sum, 4) + " ms</td><td>" + escape(r.costSource[t]) + "</td></tr>\n";
  }
  body += "</table>\n<table><tr><th>link</th><th>bandwidth</th><th>round trip</th></tr>\n";
  for (size_t l = 0; l < r.links.size(); ++l)
    body += "<tr><td>" + escape(r.tiers[l] + " -> " + r.tiers[l + 1]) + "</td><td>" + number(r.links[l].bandwidthMbps) + " Mbit/s</td><td>" +
            number(r.links[l].rttMs) + " ms</td></tr>\n";
  auto assignment = [&](const SplitChoice& c) {
    std::string a;
    int begin = 0;
    for (size_t t = 0; t < r.tiers.size(); ++t) {
      const int end = t < c.cuts.size() ? c.cuts[t] : n;
      if (end > begin) a += (a.empty() ? "" : ", ") + r.tiers[t] + " " + std::to_string(end - begin);
      begin = std::max(begin, end);
    }
    return a;
  };
  body += "</table>\n<table><tr><th></th><th>end to end</th><th>nodes per tier</th><th>compute per tier</th><th>transfer per link</th></tr>\n";
  auto row = [&](const std::string& label, const SplitChoice& c) {
    std::string compute, transfer;
    for (double v : c.computeMs) compute += (compute.empty() ? "" : " + ") + number(v, 3);
    for (double v : c.transferMs) transfer += (transfer.empty() ? "" : " + ") + number(v, 3);
    return "<tr><td>" + escape(label) + "</td><td>" + number(c.totalMs, 4) + " ms</td><td>" + escape(assignment(c)) + "</td><td>" + compute +
           " ms</td><td>" + transfer + " ms</td></tr>\n";
  };
  body += row("chosen", r.best) + row("brute force", r.bruteForce) + row("all on the device", r.allOnDevice) +
          (r.exits.empty() ? "" : row("the model without exits", r.withoutExits)) + "</table>\n";
  if (!r.exits.empty()) {
    body += "<h2>Early exits</h2>\n<p class=\"note\">Costs are expectations over the exits' recorded rates: a sample that "
            "leaves at an exit runs nothing after it and sends nothing; each head runs on the tier that computes its point.</p>\n"
            "<table><tr><th>exit</th><th>after node</th><th>tensor</th><th>rate</th><th>still running after it</th></tr>\n";
    for (const auto& x : r.exits)
      body += "<tr><td>" + escape(x.output) + "</td><td>" + std::to_string(x.position) + "</td><td>" + escape(x.tensor) + "</td><td>" +
              number(100 * x.rate, 3) + " %</td><td>" + number(100 * r.graph.survivalAt(x.position), 3) + " %</td></tr>\n";
    body += "</table>\n";
  }
  if (r.measuredDevicePartMs >= 0)
    body += "<p>Device part measured here: " + number(r.measuredDevicePartMs, 4) + " ms (predicted " + number(r.devicePartPredictedMs, 4) + " ms).</p>\n";
  if (r.devicePartEstimateMs >= 0)
    body += "<p>Device part as one arm-neon package: " + number(r.devicePartEstimateMs, 4) + " ms estimated (predicted " +
            number(r.devicePartPredictedMs - r.devicePartHeadsMs, 4) + " ms" + (r.devicePartHeadsMs > 0 ? ", both without its exit heads" : "") +
            ").</p>\n";
  if (!r.sweep.empty()) {
    svg::ScatterPlot plot;
    plot.name = "sweep";
    plot.title = "Best end-to-end latency against the bandwidth of " + r.tiers[0] + " -> " + r.tiers[1];
    plot.xLabel = "bandwidth, Mbit/s";
    plot.yLabel = "latency, ms";
    plot.logX = true;
    std::map<std::string, size_t> seriesOf;
    for (const auto& [mbps, c] : r.sweep) {
      const std::string a = assignment(c);
      if (!seriesOf.count(a)) seriesOf[a] = plot.series.size(), plot.series.push_back(a);
      svg::ScatterPoint pt;
      pt.x = mbps;
      pt.y = c.totalMs;
      pt.series = seriesOf[a];
      pt.tooltip = number(mbps) + " Mbit/s: " + number(c.totalMs, 4) + " ms, " + a;
      plot.points.push_back(pt);
    }
    body += "<h2>Bandwidth sweep</h2>\n" + svg::scatter(plot);
  }
  svg::BarChart bytes;
  bytes.name = "cut-bytes";
  bytes.title = "Bytes a cut before each node sends";
  bytes.unit = "KB";
  bytes.series = {"sent"};
  for (int k = 0; k < n; ++k) {
    svg::Bar b;
    b.label = r.graph.nodes[k];
    b.values = {static_cast<double>(r.graph.cutBytes[k]) / 1024.0};
    std::string tensors;
    for (const auto& t : r.graph.cutTensors[k]) tensors += (tensors.empty() ? "" : ", ") + t;
    b.tooltip = number(b.values[0], 4) + " KB: " + tensors + (r.graph.cutAllowed[k] ? "" : " (never cut: a float the int8 model does not hold)");
    if (!r.graph.cutAllowed[k]) b.color = "#bbbbbb";
    bytes.bars.push_back(b);
  }
  body += "<h2>What each cut sends</h2>\n" + svg::barChart(bytes);
  return svg::page("edgeopt split: " + modelName, body);
}

}  // namespace edgeopt::api
