// Model segmentation (`edgeopt split`): run the first nodes on the device, send the tensors that
// cross the cut over a link, run the rest on an edge server and/or in the cloud. The cut(s) are
// chosen to minimise the predicted end-to-end latency from per-node latency on each tier, the
// bytes of every tensor live at the cut in the deployed dtype, and each link's bandwidth and
// round-trip time.
//
// The model's nodes, in execution order, form the sequence that is cut. Two kinds of node are not
// in it but are copied into every part that needs them: nodes whose inputs are all constant
// (weights, shapes) and DequantizeLinear of an int8 activation — so a cut of a QDQ model sends the
// int8 tensor, not its float decoding. A cut at position k puts sequence nodes [0, k) before it;
// the tensors it sends are every graph input or node output defined before it and used after it,
// skip connections and graph outputs computed early included. The result is sent back from the
// tier that computes it to the device.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "compiler/ir/ir.h"
#include "compiler/ir/status.h"

namespace edgeopt::api {

struct Link {
  double bandwidthMbps = 0;  // megabits per second
  double rttMs = 0;          // one round trip, paid once per transfer
  // Milliseconds to send `bytes` over this link.
  double transferMs(int64_t bytes) const { return rttMs + static_cast<double>(bytes) * 8.0 / (bandwidthMbps * 1e3); }
};

// What the search needs about a model: the sequence and, per cut position 0..N-1, what crosses.
struct SplitGraph {
  std::vector<std::string> nodes;              // sequence node names, in execution order
  std::vector<std::string> ops;                // their op types
  std::vector<std::vector<std::string>> cutTensors;  // per cut position k < N: the tensors sent
  std::vector<int64_t> cutBytes;               // per cut position k < N: their bytes (deployed dtype)
  // Per cut position k < N: false right before a QuantizeLinear of a node's output — a tensor the
  // int8 model never holds in float (its op writes int8 directly); such a cut is never chosen.
  std::vector<bool> cutAllowed;
  int64_t resultBytes = 0;                     // the graph outputs' bytes
  // With early exits: per position k <= N, the share of samples still running at node k (and sent
  // by a cut at k); samples that left at an exit before it cost neither compute nor transfer there.
  // Empty: every sample runs the whole model.
  std::vector<double> survival;
  double survivalAt(int k) const { return survival.empty() ? 1.0 : survival[static_cast<size_t>(k)]; }
};

// Per tier (device, edge, cloud, in order), per sequence node: milliseconds.
using TierCosts = std::vector<std::vector<double>>;

struct SplitChoice {
  // cuts[i] = sequence position where tier i stops (tier i runs [cuts[i-1], cuts[i])); the last
  // tier runs to the end. cuts.size() == tiers - 1; cuts are non-decreasing, N means "no node
  // after this tier".
  std::vector<int> cuts;
  double totalMs = 0;
  std::vector<double> computeMs;   // per tier
  std::vector<double> transferMs;  // per link, forward sends and the result's return
};

// How split and its profiles name a node: its name, or its first output's when it has none.
std::string splitNodeName(const ir::Node& node);

// Builds the sequence and the tensors live at every cut. Shapes come from one reference run on
// seeded random inputs (`inputShapes`, symbolic dims 1), so every tensor's size is known.
StatusOr<SplitGraph> analyseSplit(const ir::Model& model, const std::map<std::string, std::vector<int64_t>>& inputShapes);

// The predicted latency of one assignment (the cost model itself; the searches use it). With
// survival (exits), each node's cost and each link's sends count in expectation: times the share
// of samples still running there; a sample's result returns over every link it crossed.
SplitChoice evaluateSplit(const SplitGraph& g, const TierCosts& costs, const std::vector<Link>& links,
                          const std::vector<int>& cuts);
// The best cuts, in O(N) per tier pair (a running minimum over the first cut).
SplitChoice bestSplit(const SplitGraph& g, const TierCosts& costs, const std::vector<Link>& links);
// The best cuts by trying every non-decreasing assignment (the check of bestSplit). Ties go to the
// assignment that keeps more on the earlier tiers, in both searches.
SplitChoice bruteForceSplit(const SplitGraph& g, const TierCosts& costs, const std::vector<Link>& links);

// The parts as models: part i holds sequence nodes [cuts[i-1], cuts[i]) plus the constant and
// dequantize nodes they need; its inputs are the tensors sent to it (graph inputs keep their
// names), its outputs what later parts and the graph outputs need. Empty parts are left out.
// Feeding each part's outputs to the next by name gives the whole model's outputs.
StatusOr<std::vector<ir::Model>> extractParts(const ir::Model& model, const std::vector<int>& cuts);

// The cut position at which `tensor` is the only tensor live (the first, if several); an error when
// there is none (the tensor lies inside a skip connection, or is not computed by a node).
StatusOr<int> soleLiveCut(const ir::Model& model, const std::string& tensor);

// Runs the parts chained on the reference executor on seeded random inputs and compares every
// output with the whole model's, byte for byte. Ok when equal.
Status checkComposition(const ir::Model& whole, const std::vector<ir::Model>& parts,
                        const std::map<std::string, std::vector<int64_t>>& inputShapes);

// `edgeopt split`: the costs, the search, the bandwidth sweep and the parts.
struct SplitOptions {
  std::map<std::string, std::vector<int64_t>> inputShapes;  // symbolic dims 1
  std::vector<std::string> tiers = {"device", "edge", "cloud"};  // the first is the device
  std::vector<Link> links;                                   // tiers.size() - 1, in tier order
  // A tier's per-node latency: `edgeopt bench --json` output measured on that tier (its steps'
  // node names must be nodes of the model), or "arm-neon": the NEON package's cost-model estimate
  // per step (Cortex-A76; int8 models). A tier without one is measured here (x86 target,
  // `threads`, `iters`). Each is multiplied by the tier's scale (default 1), e.g. 0.25 for a
  // server four times this machine's speed.
  std::map<std::string, std::string> profileFiles;
  std::map<std::string, double> scale;
  int threads = 1;
  int iters = 30;
  std::vector<double> sweepMbps;  // bandwidths of the first link at which to report the choice too
};

struct SplitResult {
  SplitGraph graph;
  std::vector<std::string> tiers;
  std::vector<Link> links;
  TierCosts costs;
  std::vector<std::string> costSource;  // per tier: where its latencies come from
  SplitChoice best, bruteForce, allOnDevice;
  std::vector<std::pair<double, SplitChoice>> sweep;  // first link's Mbps -> best choice
  std::vector<std::string> partTiers;                 // the tier of each part (empty tiers have none)
  std::vector<ir::Model> parts;
  double measuredDevicePartMs = -1;  // the device part benchmarked here (times the device's scale), when its costs were measured here
  double devicePartEstimateMs = -1;  // the device part's own arm-neon estimate, when its costs are arm-neon's
  double devicePartPredictedMs = -1;  // the sum of the device part's node costs (its heads included), when there is a device part
  double devicePartHeadsMs = 0;       // of which its exit heads (the arm-neon package estimate leaves them out)
  // A multi-exit model (metadata edgeopt.exits with rates): the model is cut without its heads;
  // each head runs on the tier of its point (a cut right at a point leaves the head before the
  // send) and is attached to that part; costs are expectations over the exit rates.
  struct ExitAtCut {
    std::string output, tensor;
    int position = 0;   // the cut position where its tensor is the only one live
    double rate = 0;    // share of samples leaving there
    std::vector<double> headMs;  // per tier
  };
  std::vector<ExitAtCut> exits;
  SplitChoice withoutExits;  // the choice and latency for the model without exits (every sample runs it all)
};

// Cleans the model up as every target does (the optimize pipeline: the node names bench's profiles
// use), then measures or reads the costs, searches, extracts the parts (of the cleaned model, like
// compile's model.opt.onnx) and checks that they compose to the whole.
StatusOr<SplitResult> planSplit(const ir::Model& model, const SplitOptions& options);
std::string splitText(const SplitResult& r);
std::string splitJson(const SplitResult& r);
// One self-contained page (no script; edgeopt's SVG plots): the tiers, links, the choice against
// brute force and all-on-device, the bandwidth sweep and the bytes each cut sends.
std::string splitHtml(const SplitResult& r, const std::string& modelName);

}  // namespace edgeopt::api
