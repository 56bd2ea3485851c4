#include "api/prune.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/inspect.h"
#include "compiler/runtime/executor.h"

namespace edgeopt::api {
namespace {

// Conv/Gemm/MatMul nodes with a constant float weight input, and that weight.
std::vector<std::pair<ir::Node*, const ir::Tensor*>> weightedNodes(const ir::Graph& g) {
  std::vector<std::pair<ir::Node*, const ir::Tensor*>> out;
  for (ir::Node* n : g.nodes()) {
    const std::string& op = n->opType();
    if (!n->domain().empty() || (op != "Conv" && op != "Gemm" && op != "MatMul" && op != "ConvTranspose")) continue;
    if (n->input(1) && n->input(1)->isInitializer() && n->input(1)->initializer().dtype() == ir::DType::kFloat32)
      out.emplace_back(n, &n->input(1)->initializer());
  }
  return out;
}

// Per weight of `w`, its LAMP score (Lee et al., "Layer-adaptive sparsity for the magnitude-based
// pruning", ICLR 2021): w_u^2 over the sum of w_v^2 of every weight of the layer at least as large.
// Comparable across layers: a layer's largest weight scores 1, and a small layer's weights score
// higher than equally small ones of a large layer.
std::vector<float> lampScores(const ir::Tensor& w) {
  const int64_t n = w.numel();
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  const float* v = w.data<float>();
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return std::fabs(v[a]) < std::fabs(v[b]); });
  std::vector<float> score(static_cast<size_t>(n));
  double suffix = 0;
  for (int64_t k = n - 1; k >= 0; --k) {
    const double sq = static_cast<double>(v[order[static_cast<size_t>(k)]]) * v[order[static_cast<size_t>(k)]];
    suffix += sq;
    score[static_cast<size_t>(order[static_cast<size_t>(k)])] = suffix > 0 ? static_cast<float>(sq / suffix) : 0.0f;
  }
  return score;
}

// Zeroes the lowest-scoring weights (score: |w|, or LAMP): `sparsity` of all of them (global) or
// of each layer (where both scores order the same).
Status magnitudePrune(ir::Graph& g, double sparsity, bool perLayer, SparsityScore scoreKind) {
  if (!(sparsity >= 0 && sparsity < 1)) return invalidInput("--unstructured: the sparsity must be in [0, 1)");
  auto nodes = weightedNodes(g);
  if (nodes.empty()) return invalidInput("--unstructured: the model has no Conv/Gemm/MatMul with constant float weights");
  auto scoresOf = [&](const ir::Tensor& w) {
    if (scoreKind == SparsityScore::kLamp && !perLayer) return lampScores(w);
    std::vector<float> mags(static_cast<size_t>(w.numel()));
    for (int64_t i = 0; i < w.numel(); ++i) mags[static_cast<size_t>(i)] = std::fabs(w.data<float>()[i]);
    return mags;
  };
  auto thresholdOf = [&](std::vector<float> mags) {
    const size_t k = static_cast<size_t>(std::floor(sparsity * static_cast<double>(mags.size())));
    if (k == 0) return -1.0f;
    std::nth_element(mags.begin(), mags.begin() + static_cast<std::ptrdiff_t>(k - 1), mags.end());
    return mags[k - 1];
  };
  std::vector<std::vector<float>> scores;  // per node, once (LAMP sorts each layer)
  for (const auto& [n, w] : nodes) scores.push_back(scoresOf(*w));
  float global = -1;
  if (!perLayer) {
    std::vector<float> all;
    for (const auto& s : scores) all.insert(all.end(), s.begin(), s.end());
    global = thresholdOf(std::move(all));
  }
  for (size_t k = 0; k < nodes.size(); ++k) {
    const auto& [n, w] = nodes[k];
    const std::vector<float>& score = scores[k];
    const float t = perLayer ? thresholdOf(score) : global;
    if (t < 0) continue;
    ir::Tensor pruned = *w;
    for (int64_t i = 0; i < pruned.numel(); ++i)
      if (score[static_cast<size_t>(i)] <= t) pruned.data<float>()[i] = 0.0f;
    n->setInput(1, g.addInitializer(g.uniqueName(n->input(1)->name() + "_sparse"), std::move(pruned)));
  }
  g.removeUnusedValues();
  return Status::Ok();
}

// Runs the graph on all samples at once, node by node, and sets each BatchNormalization's mean and
// variance to its input's per-channel statistics over the samples just before it runs (so every
// BatchNorm sees the re-estimated ones before it).
Status reestimateBatchNorm(ir::Graph& g, const ir::Tensor& samples, int64_t* count) {
  if (g.inputs().size() != 1) return invalidInput("BatchNorm re-estimation needs a model with one input");
  EDGEOPT_RETURN_IF_ERROR(runtime::Executor::checkInput(*g.inputs()[0], samples).withContext("BatchNorm data"));
  std::map<const ir::Value*, ir::Tensor> values = {{g.inputs()[0], samples}};
  std::map<const ir::Value*, int64_t> usesLeft;
  for (ir::Node* n : g.nodes())
    for (const ir::Value* v : n->inputs())
      if (v && !v->isInitializer()) ++usesLeft[v];
  for (ir::Node* n : g.nodes()) {
    if (n->opType() == "BatchNormalization" && n->domain().empty() && n->input(3) && n->input(4) && values.count(n->input(0))) {
      const ir::Tensor& x = values.at(n->input(0));
      if (x.dtype() == ir::DType::kFloat32 && x.rank() >= 2) {
        const int64_t batch = x.dims()[0], c = x.dims()[1], inner = x.numel() / std::max<int64_t>(1, batch * c);
        std::vector<double> sum(static_cast<size_t>(c)), sq(static_cast<size_t>(c));
        for (int64_t b = 0; b < batch; ++b)
          for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t i = 0; i < inner; ++i) {
              const double v = x.data<float>()[(b * c + ch) * inner + i];
              sum[static_cast<size_t>(ch)] += v;
              sq[static_cast<size_t>(ch)] += v * v;
            }
        const double n0 = static_cast<double>(batch * inner);
        ir::Tensor mean(ir::DType::kFloat32, {c}), var(ir::DType::kFloat32, {c});
        for (int64_t ch = 0; ch < c; ++ch) {
          const double m = sum[static_cast<size_t>(ch)] / n0;
          mean.data<float>()[ch] = static_cast<float>(m);
          var.data<float>()[ch] = static_cast<float>(std::max(0.0, sq[static_cast<size_t>(ch)] / n0 - m * m));
        }
        n->setInput(3, g.addInitializer(g.uniqueName(n->name() + "_mean"), std::move(mean)));
        n->setInput(4, g.addInitializer(g.uniqueName(n->name() + "_var"), std::move(var)));
        ++*count;
      }
    }
    std::vector<const ir::Tensor*> args;
    for (const ir::Value* v : n->inputs()) args.push_back(!v ? nullptr : v->isInitializer() ? &v->initializer() : &values.at(v));
    EDGEOPT_ASSIGN_OR_RETURN(auto out, runtime::evaluateNode(*n, args));
    for (const ir::Value* v : n->inputs())
      if (v && !v->isInitializer() && --usesLeft[v] == 0) values.erase(v);
    for (size_t o = 0; o < out.size() && o < n->outputs().size(); ++o)
      if (n->output(o) && !n->output(o)->uses().empty()) values[n->output(o)] = std::move(out[o]);
  }
  g.removeUnusedValues();
  return Status::Ok();
}

}  // namespace

Status pruneModel(ir::Model& model, const PruneOptions& options, PruneResult* result) {
  ir::Graph& g = *model.graph;
  result->parametersBefore = summarize(model).parameters;
  if (!options.structured && options.sparsity == 0) return invalidInput("nothing to do: give --macs and/or --unstructured");
  if (options.structured) EDGEOPT_RETURN_IF_ERROR(passes::pruneChannels(g, options.channels, &result->channels));
  if (options.sparsity > 0)
    EDGEOPT_RETURN_IF_ERROR(magnitudePrune(g, options.sparsity, options.sparsityPerLayer, options.sparsityScore));
  if (!options.bnData.path.empty()) {
    if (options.bnSamples < 1) return invalidInput("the BatchNorm sample count must be positive");
    data::DataOptions d = options.bnData;
    d.limit = d.limit > 0 ? std::min(d.limit, options.bnSamples) : options.bnSamples;
    EDGEOPT_ASSIGN_OR_RETURN(auto source, data::openDataSource(d));
    data::BatchReader reader(*source, d, d.limit);
    data::Batch batch;
    EDGEOPT_ASSIGN_OR_RETURN(const bool any, reader.next(&batch));
    if (!any) return invalidInput(d.path + ": no samples for the BatchNorm re-estimation");
    result->bnSamples = batch.inputs.dims()[0];
    EDGEOPT_RETURN_IF_ERROR(reestimateBatchNorm(g, batch.inputs, &result->bnNodes));
  }
  result->parametersAfter = summarize(model).parameters;
  for (const auto& [n, w] : weightedNodes(g)) {
    LayerSparsity s;
    s.node = n->name();
    s.weights = w->numel();
    for (int64_t i = 0; i < w->numel(); ++i) s.zeros += w->data<float>()[i] == 0.0f;
    result->sparsity.push_back(s);
  }
  return g.verify();
}

std::string pruneResultJson(const PruneResult& r) {
  nlohmann::json j;
  j["macs"] = {{"before", r.channels.macsBefore}, {"after", r.channels.macsAfter}};
  j["parameters"] = {{"before", r.parametersBefore}, {"after", r.parametersAfter}};
  j["removed_channels"] = r.channels.removedChannels;
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& s : r.channels.spaces) {
    nlohmann::json x = {{"name", s.name}, {"values", s.values.size()}, {"channels", s.channels}, {"kept", s.kept}};
    if (!s.frozenBy.empty()) x["frozen_by"] = s.frozenBy;
    groups.push_back(x);
  }
  j["groups"] = groups;
  j["batchnorm"] = {{"reestimated", r.bnNodes}, {"samples", r.bnSamples}};
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& s : r.sparsity) layers.push_back({{"node", s.node}, {"weights", s.weights}, {"zeros", s.zeros}});
  j["sparsity"] = layers;
  return j.dump(2);
}

std::string pruneResultText(const PruneResult& r) {
  std::ostringstream os;
  if (!r.channels.spaces.empty()) {
    os << "channel groups: " << r.channels.spaces.size() << " (" << r.channels.prunableSpaces() << " prunable)\n";
    for (const auto& s : r.channels.spaces)
      os << "  " << s.name << ": " << s.channels << " -> " << s.kept << " channels over " << s.values.size() << " values"
         << (s.frozenBy.empty() ? "" : "; frozen: " + s.frozenBy) << "\n";
    os << "MACs " << r.channels.macsBefore << " -> " << r.channels.macsAfter << " ("
       << (r.channels.macsBefore ? 100.0 * static_cast<double>(r.channels.macsAfter) / static_cast<double>(r.channels.macsBefore) : 0)
       << " %)\n";
  }
  os << "parameters " << r.parametersBefore << " -> " << r.parametersAfter << "\n";
  if (r.bnNodes) os << "BatchNorm statistics re-estimated for " << r.bnNodes << " nodes on " << r.bnSamples << " samples\n";
  int64_t w = 0, z = 0;
  for (const auto& s : r.sparsity) w += s.weights, z += s.zeros;
  if (w) os << "weight sparsity " << 100.0 * static_cast<double>(z) / static_cast<double>(w) << " % (" << z << " of " << w << " zero)\n";
  return os.str();
}

}  // namespace edgeopt::api
