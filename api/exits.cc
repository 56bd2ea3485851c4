#include "api/exits.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "api/evaluate.h"
#include "api/graph_copy.h"
#include "api/inspect.h"
#include "api/split.h"
#include "targets/target.h"
#include "compiler/runtime/executor.h"

namespace edgeopt::api {
// The tensor a segment hands on at an exit: the exit's feature map, or in a QDQ model the int8
// tensor its DequantizeLinear reads (segments send int8; the head decodes it).
std::string exitSentTensor(const ir::Graph& g, const std::string& tensor) {
  const ir::Value* v = g.findValue(tensor);
  if (v && v->producer() && v->producer()->opType() == "DequantizeLinear" && v->producer()->input(0) &&
      !v->producer()->input(0)->isInitializer())
    return v->producer()->input(0)->name();
  return tensor;
}

namespace {

// Copies head model `head` into g reading `from`, its nodes and values named by `rename`; its
// logits become an output of g, returned.
StatusOr<ir::Value*> copyHeadOnto(ir::Graph& g, const ir::Model& head, ir::Value* from,
                                  const std::function<std::string(const std::string&)>& rename) {
  std::map<const ir::Value*, ir::Value*> copy;
  copy[head.graph->inputs()[0]] = from;
  for (const ir::Node* n : head.graph->nodes()) EDGEOPT_RETURN_IF_ERROR(copyNodeInto(g, *n, &copy, rename).status());
  ir::Value* logits = copy.at(head.graph->outputs()[0]);
  g.markOutput(logits);
  return logits;
}

constexpr const char* kExitsMetadata = "edgeopt.exits";
constexpr const char* kExitsSchema = "edgeopt.exits/1";

struct Point {
  std::string tensor;
  int position = 0;         // in the split sequence: the cut right after the tensor's producer
  int64_t macsBefore = 0;   // backbone MACs up to the point
};


// Exit points: positions where exactly one float tensor of rank 4 is live.
StatusOr<std::vector<Point>> exitPoints(const ir::Model& model, const std::map<std::string, std::vector<int64_t>>& shapes,
                                        const ExitOptions& options, int64_t* totalMacs) {
  EDGEOPT_ASSIGN_OR_RETURN(const SplitGraph g, analyseSplit(model, shapes));
  const ModelSummary summary = summarize(model);
  *totalMacs = summary.macs;
  std::map<std::string, int64_t> macsOf;
  for (const auto& n : summary.nodes) macsOf[n.name] += std::max<int64_t>(0, n.macs);
  const int n = static_cast<int>(g.nodes.size());
  std::vector<int64_t> before(n + 1, 0);
  for (int i = 0; i < n; ++i) before[i + 1] = before[i] + (macsOf.count(g.nodes[i]) ? macsOf.at(g.nodes[i]) : 0);
  const ir::Graph& graph = *model.graph;
  // A point saves something only with MACs after it: at least 5 % of the model's.
  // The float feature map a head at cut k reads: the tensor sent there, or in a QDQ model (which
  // sends the int8 tensor) its DequantizeLinear's output; null when there is none.
  auto featureAt = [&](int k) -> const ir::Value* {
    if (k <= 0 || k >= n || g.cutTensors[k].size() != 1) return nullptr;
    const ir::Value* v = graph.findValue(g.cutTensors[k][0]);
    if (!v || v->isGraphInput()) return nullptr;
    if (v->dtype() != ir::DType::kFloat32)
      for (const ir::Use& u : v->uses())
        if (u.node->opType() == "DequantizeLinear" && u.inputIndex == 0) return u.node->output(0);
    return v;
  };
  auto usable = [&](int k) {
    if (k <= 0 || k >= n || g.cutTensors[k].size() != 1 || !g.cutAllowed[k]) return false;
    if (static_cast<double>(before[k]) > 0.95 * static_cast<double>(*totalMacs)) return false;
    const ir::Value* v = featureAt(k);
    return v && v->dtype() == ir::DType::kFloat32 && v->shape() && v->shape()->size() == 4;
  };
  std::vector<Point> points;
  if (!options.points.empty()) {
    for (const auto& name : options.points) {
      const ir::Value* v = graph.findValue(name);
      if (!v || v->isInitializer() || v->isGraphInput())
        return invalidInput("--points: '" + name + "' is not a tensor a node of the model computes");
      int found = -1;
      for (int k = 1; k < n && found < 0; ++k)
        if (g.cutTensors[k].size() == 1 && (g.cutTensors[k][0] == name || (featureAt(k) && featureAt(k)->name() == name))) found = k;
      if (found < 0 || !usable(found)) {
        std::string live;
        for (int k = 1; k < n; ++k)
          if (std::find(g.cutTensors[k].begin(), g.cutTensors[k].end(), exitSentTensor(graph, name)) != g.cutTensors[k].end()) {
            for (const auto& t : g.cutTensors[k]) live += (live.empty() ? "" : ", ") + t;
            break;
          }
        std::string why = "it lies inside a skip connection (live with it: " + live + ")";
        if (found >= 0 && static_cast<double>(before[found]) > 0.95 * static_cast<double>(*totalMacs))
          why = "less than 5 % of the model's MACs come after it";
        else if (live.empty() || found >= 0)
          why = "not a float feature map [N,C,H,W] between two nodes";
        return invalidInput("--points: '" + name + "' is not an exit point: " + why);
      }
      points.push_back({featureAt(found)->name(), found, before[found]});
    }
    std::sort(points.begin(), points.end(), [](const Point& a, const Point& b) { return a.position < b.position; });
    for (size_t i = 1; i < points.size(); ++i)
      if (points[i].position == points[i - 1].position) return invalidInput("--points names '" + points[i].tensor + "' twice");
    return points;
  }
  if (*totalMacs <= 0) return invalidInput("the model has no Conv/Gemm MACs to place exits by; name them with --points");
  // Per share, the nearest point; of points with equal MACs (an Add, then its Relu) the last, and
  // never two exits at the same MACs.
  std::set<int> chosen;
  std::set<int64_t> chosenMacs;
  for (double f : options.macFractions) {
    int best = -1;
    double bestDistance = 1e300;
    for (int k = 1; k < n; ++k) {
      if (!usable(k) || chosenMacs.count(before[k])) continue;
      const double d = std::abs(static_cast<double>(before[k]) / static_cast<double>(*totalMacs) - f);
      if (d <= bestDistance) bestDistance = d, best = k;
    }
    if (best >= 0) chosen.insert(best), chosenMacs.insert(before[best]);
  }
  if (chosen.empty()) return invalidInput("the model has no exit point (a single live feature map between two nodes)");
  for (int k : chosen) points.push_back({featureAt(k)->name(), k, before[k]});
  return points;
}

// Samples, labels, the model's final output and the feature maps at each point, from one run.
struct Collected {
  int64_t count = 0, classes = 0;
  std::vector<int64_t> labels;
  std::vector<float> finalLogits;                 // [count, classes]
  // Per point, the feature maps as the head's pooling leaves them, [count, C, g, g] (g = grid, or 1
  // where the grid does not divide the map): the backbone is frozen and pooling is fixed, so the
  // heads train on these (a 28x28 map held whole would take 49 times the memory).
  std::vector<std::vector<float>> features;
  std::vector<std::vector<int64_t>> featureDims;  // per point, {C, g, g}
  std::vector<std::vector<int64_t>> mapDims;      // per point, {C, H, W}
};

// Whether a head pools an H x W map to grid x grid (else globally).
bool gridded(int64_t h, int64_t w, int grid) { return grid > 1 && h % grid == 0 && w % grid == 0 && h >= grid && w >= grid; }

// Average-pools rows [rows, C, H, W] to [rows, C, g, g] (g = grid when gridded, else 1), appended to out.
void poolRows(const float* x, int64_t rows, const std::vector<int64_t>& dims, int grid, std::vector<float>* out) {
  const int64_t c = dims[0], h = dims[1], w = dims[2];
  const int64_t g = gridded(h, w, grid) ? grid : 1, bh = h / g, bw = w / g;
  const double inv = 1.0 / static_cast<double>(bh * bw);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t ch = 0; ch < c; ++ch) {
      const float* plane = x + (r * c + ch) * h * w;
      for (int64_t i = 0; i < g; ++i)
        for (int64_t j = 0; j < g; ++j) {
          double sum = 0;
          for (int64_t y = i * bh; y < (i + 1) * bh; ++y)
            for (int64_t z = j * bw; z < (j + 1) * bw; ++z) sum += plane[y * w + z];
          out->push_back(static_cast<float>(sum * inv));
        }
    }
}

StatusOr<Collected> collect(const ir::Model& model, const std::vector<Point>& points, const ExitOptions& options,
                            data::DataSource& source) {
  ir::Model probe = ir::cloneModel(model);
  for (const auto& p : points) probe.graph->markOutput(probe.graph->findValue(p.tensor));
  EDGEOPT_ASSIGN_OR_RETURN(auto runner, ModelRunner::create(probe, options.runner));
  if (!source.hasLabels()) return invalidInput(options.data.path + ": exits need labelled data (--labels)");
  EDGEOPT_RETURN_IF_ERROR(checkSamplesFitInput(model, source));
  const int64_t batch = fixedBatch(*model.graph).value_or(64);
  data::BatchReader reader(source, options.data, batch);
  Collected c;
  c.features.resize(points.size());
  c.featureDims.resize(points.size());
  c.mapDims.resize(points.size());
  data::Batch b;
  while (true) {
    EDGEOPT_ASSIGN_OR_RETURN(const bool more, reader.next(&b));
    if (!more) break;
    EDGEOPT_ASSIGN_OR_RETURN(auto outs, runner->run({b.inputs}));
    const int64_t rows = b.inputs.dims()[0];
    if (outs[0].dtype() != ir::DType::kFloat32 || outs[0].rank() < 2 || outs[0].dims()[0] != rows)
      return invalidInput("the model's first output is not float logits [batch, classes]");
    c.classes = outs[0].numel() / rows;
    c.finalLogits.insert(c.finalLogits.end(), outs[0].data<float>(), outs[0].data<float>() + outs[0].numel());
    for (size_t p = 0; p < points.size(); ++p) {
      const ir::Tensor& f = outs[1 + p];
      if (f.rank() != 4) return invalidInput("exit point '" + points[p].tensor + "' is not a feature map [N,C,H,W] at run time");
      c.mapDims[p] = std::vector<int64_t>(f.dims().begin() + 1, f.dims().end());
      const int64_t g = gridded(c.mapDims[p][1], c.mapDims[p][2], options.grid) ? options.grid : 1;
      c.featureDims[p] = {c.mapDims[p][0], g, g};
      poolRows(f.data<float>(), rows, c.mapDims[p], options.grid, &c.features[p]);
    }
    c.labels.insert(c.labels.end(), b.labels.begin(), b.labels.end());
  }
  c.count = static_cast<int64_t>(c.labels.size());
  for (int64_t label : c.labels)
    if (label < 0 || label >= c.classes)
      return invalidInput(options.data.labelsPath + ": label " + std::to_string(label) + " is outside the model's " +
                          std::to_string(c.classes) + " classes");
  return c;
}

// The head as a model of its own: a feature map [batch, C, H, W] -> logits [batch, classes]; with
// `pooledInput` the map is already pooled ([batch, C, g, g], poolRows) and the head is Flatten + Gemm.
// The Gemm's weights are `trained` (a head model's "weight" and "bias") or seeded random ones.
ir::Model headModel(const ir::Model& like, const std::vector<int64_t>& dims, int64_t classes, int grid, bool pooledInput,
                    const ir::Model* trained, uint32_t seed, int64_t* macs) {
  ir::Model m;
  m.opsets = {{"", 17}};
  m.irVersion = like.irVersion;
  ir::Graph& g = *m.graph;
  std::vector<ir::Dim> shape = {ir::Dim::named("batch")};
  for (int64_t d : dims) shape.emplace_back(d);
  ir::Value* x = g.addInput("features", ir::DType::kFloat32, shape);
  const int64_t c = dims[0], h = dims[1], w = dims[2];
  const bool byGrid = pooledInput ? h > 1 : gridded(h, w, grid);
  ir::Value* pooled = x;
  if (!pooledInput) {
    ir::Node* pool = byGrid ? g.addNode("AveragePool", {x}, {"pooled"}, "pool") : g.addNode("GlobalAveragePool", {x}, {"pooled"}, "pool");
    if (byGrid) {
      pool->setAttr("kernel_shape", std::vector<int64_t>{h / grid, w / grid});
      pool->setAttr("strides", std::vector<int64_t>{h / grid, w / grid});
    }
    pooled = pool->output(0);
    // Shapes on every value, as import's shape inference would give them (targets that plan
    // buffers from declared shapes, like arm-neon's packages, need them).
    const int64_t g2 = byGrid ? grid : 1;
    pooled->setShape(std::vector<ir::Dim>{ir::Dim::named("batch"), ir::Dim(c), ir::Dim(g2), ir::Dim(g2)});
  }
  pooled->setDType(ir::DType::kFloat32);
  ir::Node* flat = g.addNode("Flatten", {pooled}, {"flat"}, "flatten");
  flat->setAttr("axis", int64_t{1});
  const int64_t in = pooledInput ? c * h * w : c * (byGrid ? grid * grid : 1);
  flat->output(0)->setDType(ir::DType::kFloat32);
  flat->output(0)->setShape(std::vector<ir::Dim>{ir::Dim::named("batch"), ir::Dim(in)});
  ir::Value* wv = nullptr;
  ir::Value* bv = nullptr;
  const ir::Node* trainedGemm = nullptr;
  if (trained)
    for (const ir::Node* n : trained->graph->nodes())
      if (n->opType() == "Gemm") trainedGemm = n;
  const ir::Value* trainedWeight = trainedGemm ? ir::initializerBehind(trainedGemm->input(1)) : nullptr;
  const ir::Value* trainedBias = trainedGemm ? ir::initializerBehind(trainedGemm->input(2)) : nullptr;
  EDGEOPT_CHECK(!trained || (trainedWeight && trainedBias));  // a trained head is Flatten + Gemm with constant weights
  if (trained) {
    wv = g.addInitializer("weight", trainedWeight->initializer());
    bv = g.addInitializer("bias", trainedBias->initializer());
  } else {
    std::mt19937 rng(seed);
    const float bound = 1.0f / std::sqrt(static_cast<float>(in));
    std::uniform_real_distribution<float> u(-bound, bound);
    std::vector<float> weights(static_cast<size_t>(classes * in));
    for (float& v : weights) v = u(rng);
    wv = g.addInitializer("weight", ir::Tensor::fromVector<float>({classes, in}, weights));
    bv = g.addInitializer("bias", ir::Tensor::fromVector<float>({classes}, std::vector<float>(static_cast<size_t>(classes), 0.f)));
  }
  ir::Node* gemm = g.addNode("Gemm", {flat->output(0), wv, bv}, {"logits"}, "gemm");
  gemm->setAttr("transB", int64_t{1});
  gemm->output(0)->setDType(ir::DType::kFloat32);
  gemm->output(0)->setShape(std::vector<ir::Dim>{ir::Dim::named("batch"), ir::Dim(classes)});
  g.markOutput(gemm->output(0));
  *macs = classes * in;
  return m;
}

// Per row of [rows, classes] logits, its confidence (exitConfidence) and its top class.
void confidences(const float* logits, int64_t rows, int64_t classes, Confidence kind, std::vector<float>* conf,
                 std::vector<int64_t>* pred) {
  for (int64_t r = 0; r < rows; ++r) {
    int64_t arg = 0;
    conf->push_back(exitConfidence(logits + r * classes, classes, kind, &arg));
    pred->push_back(arg);
  }
}

StatusOr<std::vector<float>> runHead(const ir::Model& head, const float* features, int64_t rows, const std::vector<int64_t>& dims) {
  EDGEOPT_ASSIGN_OR_RETURN(auto exe, runtime::Executor::create(*head.graph));
  std::vector<int64_t> full = {rows};
  full.insert(full.end(), dims.begin(), dims.end());
  ir::Tensor x(ir::DType::kFloat32, full);
  std::copy_n(features, x.numel(), x.data<float>());
  EDGEOPT_ASSIGN_OR_RETURN(auto outs, exe->run({x}));
  return std::vector<float>(outs[0].data<float>(), outs[0].data<float>() + outs[0].numel());
}

}  // namespace

ExitStats applyExitPolicy(const ExitPolicy& policy, const std::vector<std::vector<float>>& conf,
                          const std::vector<std::vector<int64_t>>& pred, const std::vector<int64_t>& labels) {
  const size_t exits = policy.exits.size();
  ExitStats s;
  s.samples = static_cast<int64_t>(labels.size());
  s.taken.assign(exits + 1, 0);
  s.correct.assign(exits + 1, 0);
  double macs = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    size_t e = 0;
    while (e < exits && conf[e][i] < policy.exits[e].threshold) ++e;
    const bool right = pred[e][i] == labels[i];
    ++s.taken[e];
    s.correct[e] += right;
    s.cascadeCorrect += right;
    s.finalCorrect += pred[exits][i] == labels[i];
    macs += static_cast<double>(e < exits ? policy.exits[e].macs : policy.finalMacs);
  }
  s.averageMacs = s.samples ? macs / static_cast<double>(s.samples) : 0;
  return s;
}

StatusOr<Confidence> parseConfidence(const std::string& name) {
  if (name == "max-softmax" || name == "max_softmax") return Confidence::kMaxSoftmax;
  if (name == "entropy") return Confidence::kEntropy;
  return invalidInput("confidence '" + name + "': expected max-softmax or entropy");
}

const char* confidenceName(Confidence c) { return c == Confidence::kEntropy ? "entropy" : "max_softmax"; }

float exitConfidence(const float* l, int64_t classes, Confidence kind, int64_t* predicted) {
  const int64_t arg = std::max_element(l, l + classes) - l;
  *predicted = arg;
  double sum = 0;
  for (int64_t k = 0; k < classes; ++k) sum += std::exp(static_cast<double>(l[k] - l[arg]));
  if (kind == Confidence::kMaxSoftmax || classes < 2) return static_cast<float>(1.0 / sum);
  // H = -sum p log p with p_k = e^(l_k - l_max) / sum.
  double h = 0;
  for (int64_t k = 0; k < classes; ++k) {
    const double p = std::exp(static_cast<double>(l[k] - l[arg])) / sum;
    if (p > 0) h -= p * std::log(p);
  }
  return static_cast<float>(std::clamp(1.0 - h / std::log(static_cast<double>(classes)), 0.0, 1.0));
}

StatusOr<std::optional<ExitPolicy>> exitPolicyOf(const ir::Model& model) {
  auto it = model.metadata.find(kExitsMetadata);
  if (it == model.metadata.end()) return std::optional<ExitPolicy>();
  const nlohmann::json j = nlohmann::json::parse(it->second, nullptr, false);
  auto bad = [](const std::string& why) { return invalidInput(std::string("metadata ") + kExitsMetadata + ": " + why); };
  if (j.is_discarded() || !j.is_object() || j.value("schema", "") != kExitsSchema) return bad("not " + std::string(kExitsSchema) + " JSON");
  ExitPolicy p;
  try {
    const std::string confidence = j.value("confidence", "max_softmax");
    auto kind = parseConfidence(confidence);
    if (!kind.ok()) return bad(kind.status().message());
    p.confidence = kind.value();
    p.finalOutput = j.at("final_output").get<std::string>();
    p.finalMacs = j.at("final_macs").get<int64_t>();
    p.backboneMacs = j.at("backbone_macs").get<int64_t>();
    for (const auto& e : j.at("exits")) {
      p.exits.push_back({e.at("output"), e.at("tensor"), e.at("threshold"), e.at("macs"), e.value("rate", -1.0)});
      if (p.exits.back().rate > 1) return bad("exit '" + p.exits.back().output + "' has a rate above 1");
    }
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
  std::set<std::string> outputs;
  for (const ir::Value* v : model.graph->outputs()) outputs.insert(v->name());
  for (const auto& e : p.exits)
    if (!outputs.count(e.output)) return bad("exit output '" + e.output + "' is not an output of the model");
  if (!outputs.count(p.finalOutput)) return bad("final output '" + p.finalOutput + "' is not an output of the model");
  return std::optional<ExitPolicy>(p);
}

Status addExits(ir::Model& model, const ExitOptions& options, ExitReport* report) {
  const auto start = std::chrono::steady_clock::now();
  if (!(options.heldOut > 0 && options.heldOut < 1)) return invalidInput("--held-out must lie in (0, 1)");
  if (!(options.budgetPoints >= 0)) return invalidInput("--exit-budget must be a non-negative number of points");
  if (model.metadata.count(kExitsMetadata)) return invalidInput("the model has exits already (metadata " + std::string(kExitsMetadata) + ")");
  if (model.graph->inputs().size() != 1) return invalidInput("exits need a model with one input");
  int64_t totalMacs = 0;
  // Sizes for the point analysis: one sample of the data.
  // One source (a gzipped IDX file is inflated when it opens): its sample dims size the point
  // analysis, then it is read for the features.
  EDGEOPT_ASSIGN_OR_RETURN(auto source, data::openDataSource(options.data));
  std::map<std::string, std::vector<int64_t>> shapes;
  std::vector<int64_t> sampleDims = {1};
  for (int64_t d : source->sampleDims()) sampleDims.push_back(d);
  shapes[model.graph->inputs()[0]->name()] = sampleDims;
  EDGEOPT_ASSIGN_OR_RETURN(const std::vector<Point> points, exitPoints(model, shapes, options, &totalMacs));
  EDGEOPT_ASSIGN_OR_RETURN(const Collected c, collect(model, points, options, *source));
  const int64_t held = static_cast<int64_t>(std::llround(static_cast<double>(c.count) * options.heldOut));
  const int64_t trainN = c.count - held, calibN = held / 2, checkN = held - calibN;
  if (trainN < 1 || calibN < 1 || checkN < 1)
    return invalidInput(options.data.path + ": " + std::to_string(c.count) + " samples are too few to train the heads and hold " +
                        "two parts out (--held-out " + std::to_string(options.heldOut) + ")");
  report->trainSamples = trainN;
  report->calibrationSamples = calibN;
  report->checkSamples = checkN;

  // Per exit: train the head, then its confidences on both held-out halves.
  const size_t exits = points.size();
  std::vector<std::vector<float>> confCal(exits + 1), confChk(exits + 1);
  std::vector<std::vector<int64_t>> predCal(exits + 1), predChk(exits + 1);
  std::vector<ir::Model> heads;
  std::vector<int64_t> headMacs(exits);
  const std::vector<int64_t> calLabels(c.labels.begin() + trainN, c.labels.begin() + trainN + calibN);
  const std::vector<int64_t> chkLabels(c.labels.begin() + trainN + calibN, c.labels.end());
  for (size_t e = 0; e < exits; ++e) {
    const auto& dims = c.featureDims[e];
    const int64_t size = dims[0] * dims[1] * dims[2];
    int64_t ignored = 0;
    ir::Model head = headModel(model, dims, c.classes, options.grid, /*pooledInput=*/true, nullptr,
                               options.optimizer.seed + static_cast<uint32_t>(e), &ignored);
    train::TrainingSet set;
    set.inputs.assign(c.features[e].begin(), c.features[e].begin() + trainN * size);
    set.sampleDims = dims;
    set.labels.assign(c.labels.begin(), c.labels.begin() + trainN);
    set.teacherLogits.assign(c.finalLogits.begin(), c.finalLogits.begin() + trainN * c.classes);
    const float* calFeatures = c.features[e].data() + trainN * size;
    auto heldOutTop1 = [&](const ir::Model& m) -> StatusOr<double> {
      EDGEOPT_ASSIGN_OR_RETURN(auto logits, runHead(m, calFeatures, calibN, dims));
      int64_t right = 0;
      for (int64_t i = 0; i < calibN; ++i) {
        const float* l = logits.data() + i * c.classes;
        right += (std::max_element(l, l + c.classes) - l) == calLabels[i];
      }
      return static_cast<double>(right) / static_cast<double>(calibN);
    };
    EDGEOPT_RETURN_IF_ERROR(train::fineTune(head, set, options.optimizer, heldOutTop1, [](const train::EpochLog&) {})
                                .withContext("training exit head " + std::to_string(e + 1)));
    EDGEOPT_ASSIGN_OR_RETURN(auto cal, runHead(head, calFeatures, calibN, dims));
    EDGEOPT_ASSIGN_OR_RETURN(auto chk, runHead(head, calFeatures + calibN * size, checkN, dims));
    confidences(cal.data(), calibN, c.classes, options.confidence, &confCal[e], &predCal[e]);
    int64_t right = 0;
    for (int64_t i = 0; i < calibN; ++i) right += predCal[e][i] == calLabels[i];
    report->headHeldOutTop1.push_back(static_cast<double>(right) / static_cast<double>(calibN));
    confidences(chk.data(), checkN, c.classes, options.confidence, &confChk[e], &predChk[e]);
    heads.push_back(headModel(model, c.mapDims[e], c.classes, options.grid, /*pooledInput=*/false, &head, 0, &headMacs[e]));
  }
  confidences(c.finalLogits.data() + trainN * c.classes, calibN, c.classes, options.confidence, &confCal[exits], &predCal[exits]);
  confidences(c.finalLogits.data() + (trainN + calibN) * c.classes, checkN, c.classes, options.confidence, &confChk[exits], &predChk[exits]);

  // The policy's MACs: the backbone to the point plus every head evaluated on the way.
  ExitPolicy policy;
  policy.backboneMacs = totalMacs;
  policy.confidence = options.confidence;
  int64_t headsSoFar = 0;
  for (size_t e = 0; e < exits; ++e) {
    headsSoFar += headMacs[e];
    policy.exits.push_back({"exit_" + std::to_string(e + 1), points[e].tensor, 1.1, points[e].macsBefore + headsSoFar});
  }
  policy.finalMacs = totalMacs + headsSoFar;

  // Thresholds: every combination of candidate values (quantiles of each exit's calibration
  // confidences, and "never"), the fewest average MACs within the budget.
  int levels = 40;
  while (levels > 4 && std::pow(levels + 2.0, static_cast<double>(exits)) > 2e5) --levels;
  std::vector<std::vector<double>> candidates(exits);
  for (size_t e = 0; e < exits; ++e) {
    std::vector<float> sorted = confCal[e];
    std::sort(sorted.begin(), sorted.end());
    std::set<double> values = {1.1};
    for (int q = 0; q <= levels; ++q)
      values.insert(sorted[static_cast<size_t>(std::llround(static_cast<double>(q) / levels * static_cast<double>(sorted.size() - 1)))]);
    candidates[e].assign(values.begin(), values.end());
  }
  const double finalTop1 = [&] {
    int64_t right = 0;
    for (int64_t i = 0; i < calibN; ++i) right += predCal[exits][i] == calLabels[i];
    return static_cast<double>(right) / static_cast<double>(calibN);
  }();
  const double floorTop1 = finalTop1 - options.budgetPoints / 100.0 - 1e-12;
  std::vector<size_t> index(exits, 0);
  ExitPolicy best = policy;  // every exit "never": the final output, always within the budget
  ExitStats bestStats = applyExitPolicy(best, confCal, predCal, calLabels);
  double leastLossAtGoal = 1e300;
  while (true) {
    ExitPolicy trial = policy;
    for (size_t e = 0; e < exits; ++e) trial.exits[e].threshold = candidates[e][index[e]];
    const ExitStats s = applyExitPolicy(trial, confCal, predCal, calLabels);
    if (s.cascadeTop1() >= floorTop1 &&
        (s.averageMacs < bestStats.averageMacs || (s.averageMacs == bestStats.averageMacs && s.cascadeCorrect > bestStats.cascadeCorrect)))
      best = trial, bestStats = s;
    if (options.maxAverageMacs > 0 && s.averageMacs <= options.maxAverageMacs * static_cast<double>(totalMacs))
      leastLossAtGoal = std::min(leastLossAtGoal, (finalTop1 - s.cascadeTop1()) * 100);
    size_t e = 0;
    while (e < exits && ++index[e] == candidates[e].size()) index[e++] = 0;
    if (e == exits) break;
  }
  if (options.maxAverageMacs > 0 && bestStats.averageMacs > options.maxAverageMacs * static_cast<double>(totalMacs)) {
    char text[320];
    std::snprintf(text, sizeof text,
                  "the exit budget cannot be met: within %.2f points of the final exit's top-1 the fewest average MACs are "
                  "%.3f of the model's (goal %.3f)%s",
                  options.budgetPoints, bestStats.averageMacs / static_cast<double>(totalMacs), options.maxAverageMacs,
                  leastLossAtGoal < 1e300 ? (", which needs a loss of " + std::to_string(leastLossAtGoal).substr(0, 5) + " points").c_str()
                                          : ", which no thresholds reach");
    return invalidInput(text);
  }
  report->policy = best;
  report->calibration = bestStats;
  report->check = applyExitPolicy(best, confChk, predChk, chkLabels);
  // Each exit's share of the held-out samples (both halves): what split weighs transfers with.
  for (size_t e = 0; e < exits; ++e)
    best.exits[e].rate = static_cast<double>(report->calibration.taken[e] + report->check.taken[e]) /
                         static_cast<double>(report->calibration.samples + report->check.samples);

  // Into the model: each head's nodes on its tensor, its logits as a new output.
  ir::Graph& g = *model.graph;
  for (size_t e = 0; e < exits; ++e) {
    // Head names under "exitK/"; its logits are the policy's output name.
    const std::string prefix = "exit" + std::to_string(e + 1) + "/", logits = heads[e].graph->outputs()[0]->name();
    const auto rename = [&](const std::string& name) { return g.uniqueName(name == logits ? best.exits[e].output : prefix + name); };
    auto out = copyHeadOnto(g, heads[e], g.findValue(points[e].tensor), rename);
    if (!out.ok()) return out.status().withContext("exits");
    best.exits[e].output = out.value()->name();
  }
  best.finalOutput = g.outputs()[0]->name();
  report->policy = best;
  nlohmann::ordered_json j;
  j["schema"] = kExitsSchema;
  j["policy"] = best.confidence == Confidence::kEntropy
                    ? "entropy: take the first exit whose 1 - H(softmax)/ln(classes) is at least its threshold"
                    : "max_softmax: take the first exit whose largest softmax probability is at least its threshold";
  j["confidence"] = confidenceName(best.confidence);
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& e : best.exits)
    list.push_back({{"output", e.output}, {"tensor", e.tensor}, {"threshold", e.threshold}, {"macs", e.macs}, {"rate", e.rate}});
  j["exits"] = list;
  j["final_output"] = best.finalOutput;
  j["final_macs"] = best.finalMacs;
  j["backbone_macs"] = best.backboneMacs;
  model.metadata[kExitsMetadata] = j.dump();
  EDGEOPT_RETURN_IF_ERROR(g.verify().withContext("exits"));
  report->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return Status::Ok();
}

StatusOr<ir::Model> withoutExits(const ir::Model& multiExit, const ExitPolicy& policy) {
  ir::Model m = ir::cloneModel(multiExit);
  ir::Graph& g = *m.graph;
  ir::Value* final = g.findValue(policy.finalOutput);
  if (!final) return invalidInput("the final output '" + policy.finalOutput + "' is not in the model");
  g.setOutputs({final});
  // The heads end in outputs no longer kept: remove dead nodes until none is left.
  for (bool removed = true; removed;) {
    removed = false;
    for (ir::Node* n : g.nodes()) {
      bool used = false;
      for (const ir::Value* v : n->outputs()) used = used || (v && (!v->uses().empty() || v == final));
      if (!used) {
        g.removeNode(n);
        removed = true;
      }
    }
  }
  g.removeUnusedValues();
  m.metadata.erase(kExitsMetadata);
  EDGEOPT_RETURN_IF_ERROR(g.verify().withContext("the model without its exits"));
  return m;
}

// Exit e's head as a model: the nodes between the tensor sent at its point and its output.
StatusOr<ir::Model> exitHead(const ir::Model& multiExit, const ExitPolicy::Exit& exit) {
  const ir::Graph& g = *multiExit.graph;
  const ir::Value* from = g.findValue(exitSentTensor(g, exit.tensor));
  const ir::Value* to = g.findValue(exit.output);
  if (!from || !to) return invalidInput("exit '" + exit.output + "': its tensor or output is not in the model");
  std::set<const ir::Node*> members;
  std::vector<const ir::Value*> stack = {to};
  while (!stack.empty()) {
    const ir::Value* v = stack.back();
    stack.pop_back();
    if (v == from || !v->producer() || members.count(v->producer())) continue;
    members.insert(v->producer());
    for (const ir::Value* in : v->producer()->inputs())
      if (in && !in->isInitializer()) stack.push_back(in);
  }
  ir::Model m;
  m.opsets = multiExit.opsets;
  m.irVersion = multiExit.irVersion;
  std::map<const ir::Value*, ir::Value*> copy;
  copy[from] = m.graph->addInput(from->name(), from->dtype(), from->shape());
  const auto sameName = [](const std::string& name) { return name; };
  for (const ir::Node* n : g.nodes())
    if (members.count(n))
      EDGEOPT_RETURN_IF_ERROR(copyNodeInto(*m.graph, *n, &copy, sameName).status().withContext("exit '" + exit.output + "' head"));
  m.graph->markOutput(copy.at(to));
  EDGEOPT_RETURN_IF_ERROR(m.graph->verify().withContext("exit '" + exit.output + "' head"));
  return m;
}

namespace {

// The batch a compacted batch of n rows is padded to on a target that plans per input shape: 1,
// 2, 4 or a multiple of 8, so that a segment sees a few sizes, not one per compacted size.
int64_t paddedBatch(int64_t n) {
  if (n > 4) return (n + 7) / 8 * 8;
  int64_t p = 1;
  while (p < n) p *= 2;
  return p;
}

// Rows `rows` of t (along dim 0), in that order.
ir::Tensor gatherRows(const ir::Tensor& t, const std::vector<int64_t>& rows) {
  std::vector<int64_t> dims = t.dims();
  const size_t rowBytes = dims[0] ? t.byteSize() / static_cast<size_t>(dims[0]) : 0;
  dims[0] = static_cast<int64_t>(rows.size());
  ir::Tensor out(t.dtype(), dims);
  for (size_t i = 0; i < rows.size(); ++i)
    std::memcpy(static_cast<char*>(out.rawData()) + i * rowBytes, static_cast<const char*>(t.rawData()) + rows[i] * rowBytes, rowBytes);
  return out;
}

}  // namespace

Status attachExitHead(ir::Graph& g, const ir::Model& head) {
  const std::string& input = head.graph->inputs()[0]->name();
  ir::Value* from = g.findValue(input);
  if (!from) return invalidInput("the graph has no tensor '" + input + "' for the exit head to read");
  EDGEOPT_RETURN_IF_ERROR(copyHeadOnto(g, head, from, [&g](const std::string& name) { return g.uniqueName(name); }).status());
  return g.verify();
}

namespace {

// The scale and zero point of the per-tensor QuantizeLinear producing, or DequantizeLinear reading,
// the int8 tensor v: {scale, zero point} values of the graph.
StatusOr<std::pair<ir::Value*, ir::Value*>> int8ParamsOf(ir::Value* v) {
  ir::Node* n = v->producer();
  if (!n || n->opType() != "QuantizeLinear") {
    n = nullptr;
    for (const ir::Use& u : v->uses())
      if (u.node->opType() == "DequantizeLinear" && u.inputIndex == 0) n = u.node;
  }
  if (!n || n->inputs().size() < 3 || !n->input(1) || !n->input(2))
    return invalidInput("the int8 tensor '" + v->name() + "' has no per-tensor QuantizeLinear/DequantizeLinear to take its scale from");
  return std::make_pair(n->input(1), n->input(2));
}

std::vector<ir::Dim> dimsWithBatch(const std::vector<int64_t>& perSample) {
  std::vector<ir::Dim> d = {ir::Dim::named("batch")};
  for (int64_t x : perSample) d.emplace_back(x);
  return d;
}

}  // namespace

Status packSegment(ir::Graph& g, bool quantizeInput, bool packOutputs, std::vector<int64_t>* mapDims) {
  if (quantizeInput) {
    // The int8 tensor received comes as its float decoding: quantized again, it is the same tensor.
    if (g.inputs().size() != 1) return invalidInput("a segment must have one input");
    ir::Value* x = g.inputs()[0];
    if (x->dtype() != ir::DType::kUInt8 && x->dtype() != ir::DType::kInt8) return Status::Ok();  // float already
    EDGEOPT_ASSIGN_OR_RETURN(const auto params, int8ParamsOf(x));
    const std::vector<ir::Node*> nodes = g.nodes();
    ir::Node* q = g.addNode("QuantizeLinear", {x, params.first, params.second}, {g.uniqueName(x->name() + "_requantized")},
                            g.uniqueName(x->name() + "_requantize"), nodes.empty() ? nullptr : nodes.front());
    ir::Value* y = q->output(0);
    y->setDType(x->dtype());
    y->setShape(x->shape());
    const std::vector<ir::Use> uses = x->uses();
    for (const ir::Use& u : uses)
      if (u.node != q) u.node->setInput(static_cast<size_t>(u.inputIndex), y);
    x->setDType(ir::DType::kFloat32);
  }
  if (packOutputs) {
    // Outputs: the tensor handed on (int8), then the head's logits: one float row per sample.
    if (g.outputs().size() != 2) return invalidInput("a segment must end in the tensor it hands on and its head's logits");
    ir::Value* handed = g.outputs()[0];
    ir::Value* logits = g.outputs()[1];
    const ir::Shape& shape = handed->shape();
    const ir::Shape& logitShape = logits->shape();
    if (!shape || shape->size() != 4 || !logitShape || logitShape->size() != 2 || !(*logitShape)[1].isKnown())
      return invalidInput("the tensor handed on must be [N,C,H,W] and the logits [N,classes] with known sizes");
    mapDims->clear();
    for (size_t i = 1; i < 4; ++i) {
      if (!(*shape)[i].isKnown()) return invalidInput("the tensor handed on, '" + handed->name() + "', has a symbolic size");
      mapDims->push_back((*shape)[i].value);
    }
    ir::Value* map = handed;
    if (handed->dtype() != ir::DType::kFloat32) {
      EDGEOPT_ASSIGN_OR_RETURN(const auto params, int8ParamsOf(handed));
      map = g.addNode("DequantizeLinear", {handed, params.first, params.second}, {g.uniqueName(handed->name() + "_decoded")},
                      g.uniqueName(handed->name() + "_decode"))->output(0);
      map->setDType(ir::DType::kFloat32);
      map->setShape(shape);
    }
    const int64_t mapElements = (*mapDims)[0] * (*mapDims)[1] * (*mapDims)[2], classes = (*logitShape)[1].value;
    ir::Node* flat = g.addNode("Flatten", {map}, {g.uniqueName(handed->name() + "_rows")}, g.uniqueName(handed->name() + "_flatten"));
    flat->setAttr("axis", int64_t{1});
    flat->output(0)->setDType(ir::DType::kFloat32);
    flat->output(0)->setShape(dimsWithBatch({mapElements}));
    ir::Node* cat = g.addNode("Concat", {flat->output(0), logits}, {g.uniqueName("segment_packed")}, g.uniqueName("segment_pack"));
    cat->setAttr("axis", int64_t{1});
    cat->output(0)->setDType(ir::DType::kFloat32);
    cat->output(0)->setShape(dimsWithBatch({mapElements + classes}));
    g.setOutputs({cat->output(0)});
  }
  g.removeUnusedValues();
  return g.verify();
}

ExitCascade::~ExitCascade() = default;

StatusOr<std::unique_ptr<ExitCascade>> ExitCascade::create(const ir::Model& multiExit, const ExitPolicy& policy,
                                                           const RunnerOptions& runner) {
  std::unique_ptr<ExitCascade> c(new ExitCascade());
  c->policy_ = policy;
  EDGEOPT_ASSIGN_OR_RETURN(const ir::Model backbone, withoutExits(multiExit, policy));
  std::vector<int> cuts;
  for (const auto& e : policy.exits) {
    EDGEOPT_ASSIGN_OR_RETURN(const int k, soleLiveCut(backbone, exitSentTensor(*backbone.graph, e.tensor)));
    cuts.push_back(k);
  }
  EDGEOPT_ASSIGN_OR_RETURN(auto parts, extractParts(backbone, cuts));
  if (parts.size() != cuts.size() + 1) return invalidInput("two exits of the policy sit at the same place");
  EDGEOPT_ASSIGN_OR_RETURN(const targets::Target* target, targets::find(runner.target));
  const bool packed = target->info().singleFloatInputOutput;
  c->padBatches_ = target->info().plansPerInputShape;
  // Segment e ends in exit e's head: one run gives the tensor handed on and the head's logits
  // (a target call has a fixed cost that, on small models, rivals a segment's compute).
  for (size_t e = 0; e < parts.size(); ++e) {
    ir::Model& part = parts[e];
    const std::string what = "exit " + std::to_string(e + 1) + " segment";
    if (e < policy.exits.size()) {
      EDGEOPT_ASSIGN_OR_RETURN(const ir::Model head, exitHead(multiExit, policy.exits[e]));
      EDGEOPT_RETURN_IF_ERROR(attachExitHead(*part.graph, head).withContext(what));
    }
    if (packed) {
      std::vector<int64_t> mapDims;
      EDGEOPT_RETURN_IF_ERROR(packSegment(*part.graph, e > 0, e < policy.exits.size(), &mapDims).withContext(what));
      c->packedMapDims_.push_back(mapDims);
    }
    // The map handed between segments stays in the target's own layout (x86: NHWC), sparing a
    // transpose at each end; only the cascade reads it, by rows.
    RunnerOptions segmentRunner = runner;
    if (target->info().channelsLastIo) {
      if (e > 0) segmentRunner.channelsLast.insert(part.graph->inputs()[0]->name());
      if (e < policy.exits.size()) segmentRunner.channelsLast.insert(part.graph->outputs()[0]->name());
    }
    EDGEOPT_ASSIGN_OR_RETURN(auto r, ModelRunner::create(part, segmentRunner));
    c->segments_.push_back(std::move(r));
  }
  return c;
}

StatusOr<ir::Tensor> ExitCascade::run(const ir::Tensor& input, std::vector<int>* exitTaken) {
  const int64_t batch = input.dims()[0];
  exitTaken->assign(static_cast<size_t>(batch), static_cast<int>(policy_.exits.size()));
  std::vector<int64_t> alive(static_cast<size_t>(batch));
  for (int64_t i = 0; i < batch; ++i) alive[i] = i;
  ir::Tensor carried = input;
  std::optional<ir::Tensor> result;
  auto place = [&](const ir::Tensor& logits, const std::vector<int64_t>& rows, const std::vector<int64_t>& where) {
    const int64_t classes = logits.numel() / logits.dims()[0];
    if (!result) result.emplace(ir::DType::kFloat32, std::vector<int64_t>{batch, classes});
    for (size_t i = 0; i < rows.size(); ++i)
      std::copy_n(logits.data<float>() + rows[i] * classes, classes, result->data<float>() + where[i] * classes);
  };
  for (size_t e = 0; e <= policy_.exits.size() && !alive.empty(); ++e) {
    EDGEOPT_ASSIGN_OR_RETURN(auto out, runSegment(e, carried));
    if (e == policy_.exits.size()) {
      std::vector<int64_t> rows(alive.size());
      for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<int64_t>(i);
      place(out[0], rows, alive);
      break;
    }
    const ir::Tensor& logits = out[1];
    std::vector<float> conf;
    std::vector<int64_t> pred;
    const int64_t rowsNow = static_cast<int64_t>(alive.size());  // the first rows; the rest is padding
    confidences(logits.data<float>(), rowsNow, logits.numel() / logits.dims()[0], policy_.confidence, &conf, &pred);
    std::vector<int64_t> leave, leaveWhere, stay, stayWhere;
    for (int64_t r = 0; r < rowsNow; ++r) {
      if (conf[r] >= policy_.exits[e].threshold) {
        leave.push_back(r), leaveWhere.push_back(alive[r]);
        (*exitTaken)[alive[r]] = static_cast<int>(e);
      } else {
        stay.push_back(r), stayWhere.push_back(alive[r]);
      }
    }
    if (!leave.empty()) place(logits, leave, leaveWhere);
    if (!stay.empty() && stay.size() == static_cast<size_t>(rowsNow)) {
      carried = out[0];
    } else if (!stay.empty()) {
      // Padded with copies of the first row on a target that plans per input shape.
      std::vector<int64_t> rows = stay;
      if (padBatches_) rows.resize(static_cast<size_t>(paddedBatch(static_cast<int64_t>(stay.size()))), stay[0]);
      carried = gatherRows(out[0], rows);
    }
    alive = std::move(stayWhere);
  }
  return std::move(*result);
}

StatusOr<std::vector<ir::Tensor>> ExitCascade::runSegment(size_t e, const ir::Tensor& carried) {
  EDGEOPT_ASSIGN_OR_RETURN(auto out, segments_[e]->run({carried}));
  if (!packedMapDims_.empty() && e < policy_.exits.size()) {
    // [rows, map | logits] -> the float map handed on and the logits.
    const std::vector<int64_t>& d = packedMapDims_[e];
    const int64_t rows = out[0].dims()[0], width = out[0].numel() / std::max<int64_t>(rows, 1), mapElements = d[0] * d[1] * d[2];
    ir::Tensor map(ir::DType::kFloat32, {rows, d[0], d[1], d[2]}), head(ir::DType::kFloat32, {rows, width - mapElements});
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = out[0].data<float>() + r * width;
      std::copy_n(row, mapElements, map.data<float>() + r * mapElements);
      std::copy_n(row + mapElements, width - mapElements, head.data<float>() + r * (width - mapElements));
    }
    out = {std::move(map), std::move(head)};
  }
  return out;
}

Status ExitCascade::prepare(const ir::Tensor& sample, int64_t maxBatch) {
  if (!padBatches_) return Status::Ok();
  // Every size run() can hand a segment: the padded compacted sizes, and maxBatch itself.
  std::set<int64_t> sizes = {maxBatch};
  for (int64_t n = 1; n <= maxBatch; ++n) sizes.insert(paddedBatch(n));
  for (int64_t b : sizes) {
    // b copies of the first row of `sample`, through every segment (whatever the exits decide).
    ir::Tensor carried = gatherRows(sample, std::vector<int64_t>(static_cast<size_t>(b), 0));
    for (size_t e = 0; e < segments_.size(); ++e) {
      EDGEOPT_ASSIGN_OR_RETURN(auto out, runSegment(e, carried));
      if (e + 1 < segments_.size()) carried = std::move(out[0]);
    }
  }
  return Status::Ok();
}

StatusOr<ExitStats> evaluateExits(const ir::Model& model, const ExitPolicy& policy, const data::DataOptions& dataOptions,
                                  const RunnerOptions& runnerOptions, int64_t batch) {
  EDGEOPT_ASSIGN_OR_RETURN(auto cascade, ExitCascade::create(model, policy, runnerOptions));
  EDGEOPT_ASSIGN_OR_RETURN(const ir::Model backbone, withoutExits(model, policy));
  EDGEOPT_ASSIGN_OR_RETURN(auto plain, ModelRunner::create(backbone, runnerOptions));
  EDGEOPT_ASSIGN_OR_RETURN(auto source, data::openDataSource(dataOptions));
  if (!source->hasLabels()) return invalidInput(dataOptions.path + ": evaluating exits needs labels");
  EDGEOPT_RETURN_IF_ERROR(checkSamplesFitInput(model, *source));
  ExitStats s;
  const size_t exits = policy.exits.size();
  s.taken.assign(exits + 1, 0);
  s.correct.assign(exits + 1, 0);
  double macs = 0, cascadeSeconds = 0, plainSeconds = 0;
  data::BatchReader reader(*source, dataOptions, fixedBatch(*model.graph).value_or(batch));
  data::Batch b;
  using Clock = std::chrono::steady_clock;
  while (true) {
    EDGEOPT_ASSIGN_OR_RETURN(const bool more, reader.next(&b));
    if (!more) break;
    // The two alternate batch by batch, so that both see the same machine; plans are made first.
    if (s.samples == 0) {
      EDGEOPT_RETURN_IF_ERROR(cascade->prepare(b.inputs, b.inputs.dims()[0]));
      EDGEOPT_RETURN_IF_ERROR(plain->run({b.inputs}).status());
    }
    std::vector<int> taken;
    auto t0 = Clock::now();
    EDGEOPT_ASSIGN_OR_RETURN(const ir::Tensor logits, cascade->run(b.inputs, &taken));
    auto t1 = Clock::now();
    EDGEOPT_ASSIGN_OR_RETURN(auto full, plain->run({b.inputs}));
    auto t2 = Clock::now();
    cascadeSeconds += std::chrono::duration<double>(t1 - t0).count();
    plainSeconds += std::chrono::duration<double>(t2 - t1).count();
    const int64_t rows = b.inputs.dims()[0];
    std::vector<float> conf, fullConf;
    std::vector<int64_t> pred, fullPred;
    confidences(logits.data<float>(), rows, logits.numel() / rows, policy.confidence, &conf, &pred);
    confidences(full[0].data<float>(), rows, full[0].numel() / rows, policy.confidence, &fullConf, &fullPred);
    for (int64_t i = 0; i < rows; ++i) {
      const bool right = pred[i] == b.labels[i];
      ++s.taken[taken[i]];
      s.correct[taken[i]] += right;
      s.cascadeCorrect += right;
      s.finalCorrect += fullPred[i] == b.labels[i];
      macs += static_cast<double>(static_cast<size_t>(taken[i]) < exits ? policy.exits[taken[i]].macs : policy.finalMacs);
    }
    s.samples += rows;
  }
  if (s.samples) {
    s.averageMacs = macs / static_cast<double>(s.samples);
    s.cascadeMsPerSample = 1e3 * cascadeSeconds / static_cast<double>(s.samples);
    s.backboneMsPerSample = 1e3 * plainSeconds / static_cast<double>(s.samples);
  }
  return s;
}

namespace {

nlohmann::ordered_json statsJson(const ExitPolicy& p, const ExitStats& s) {
  nlohmann::ordered_json exits = nlohmann::ordered_json::array();
  for (size_t e = 0; e <= p.exits.size(); ++e) {
    exits.push_back({{"output", e < p.exits.size() ? p.exits[e].output : p.finalOutput},
                     {"rate", s.rate(e)},
                     {"accuracy", s.accuracy(e) >= 0 ? nlohmann::ordered_json(s.accuracy(e)) : nlohmann::ordered_json(nullptr)}});
  }
  nlohmann::ordered_json j = {{"samples", s.samples},
          {"top1", s.cascadeTop1()},
          {"final_top1", s.finalTop1()},
          {"average_macs", s.averageMacs},
          {"average_macs_share", p.backboneMacs ? s.averageMacs / static_cast<double>(p.backboneMacs) : 0.0},
          {"exits", exits}};
  if (s.cascadeMsPerSample >= 0) {
    j["ms_per_sample"] = s.cascadeMsPerSample;
    j["ms_per_sample_without_exits"] = s.backboneMsPerSample;
  }
  return j;
}

std::string statsText(const ExitPolicy& p, const ExitStats& s) {
  char line[256];
  std::snprintf(line, sizeof line, "top-1 %.2f %% (final exit alone %.2f %%), average MACs %.0f = %.3f of the model's\n",
                100 * s.cascadeTop1(), 100 * s.finalTop1(), s.averageMacs,
                p.backboneMacs ? s.averageMacs / static_cast<double>(p.backboneMacs) : 0.0);
  std::string t = line;
  for (size_t e = 0; e <= p.exits.size(); ++e) {
    std::snprintf(line, sizeof line, "  %-10s rate %6.2f %%  accuracy %6.2f %%\n",
                  e < p.exits.size() ? p.exits[e].output.c_str() : "final", 100 * s.rate(e), 100 * std::max(0.0, s.accuracy(e)));
    t += line;
  }
  if (s.cascadeMsPerSample >= 0) {
    std::snprintf(line, sizeof line, "  latency %.4f ms per sample with exits, %.4f ms without (%.3fx; measured batch by batch, alternating)\n",
                  s.cascadeMsPerSample, s.backboneMsPerSample, s.backboneMsPerSample > 0 ? s.cascadeMsPerSample / s.backboneMsPerSample : 0.0);
    t += line;
  }
  return t;
}

}  // namespace

std::string exitStatsJson(const ExitPolicy& p, const ExitStats& s) { return statsJson(p, s).dump(2); }
std::string exitStatsText(const ExitPolicy& p, const ExitStats& s) { return statsText(p, s); }

std::string exitReportText(const ExitReport& r) {
  std::string t;
  char line[256];
  std::snprintf(line, sizeof line, "trained on %lld samples; thresholds (%s) chosen on %lld, checked on %lld (%.1f s)\n",
                static_cast<long long>(r.trainSamples), confidenceName(r.policy.confidence), static_cast<long long>(r.calibrationSamples),
                static_cast<long long>(r.checkSamples), r.seconds);
  t += line;
  for (size_t e = 0; e < r.policy.exits.size(); ++e) {
    const auto& x = r.policy.exits[e];
    std::snprintf(line, sizeof line, "%s after %s: threshold %s, %lld MACs (%.3f), head alone %.2f %%\n", x.output.c_str(),
                  x.tensor.c_str(), x.threshold > 1 ? "never" : std::to_string(x.threshold).substr(0, 6).c_str(),
                  static_cast<long long>(x.macs), static_cast<double>(x.macs) / static_cast<double>(r.policy.backboneMacs),
                  100 * r.headHeldOutTop1[e]);
    t += line;
  }
  t += "calibration half: " + statsText(r.policy, r.calibration);
  t += "check half:       " + statsText(r.policy, r.check);
  return t;
}

std::string exitReportJson(const ExitReport& r) {
  nlohmann::ordered_json j;
  j["train_samples"] = r.trainSamples;
  j["calibration_samples"] = r.calibrationSamples;
  j["check_samples"] = r.checkSamples;
  nlohmann::ordered_json exits = nlohmann::ordered_json::array();
  for (size_t e = 0; e < r.policy.exits.size(); ++e) {
    const auto& x = r.policy.exits[e];
    exits.push_back({{"output", x.output}, {"tensor", x.tensor}, {"threshold", x.threshold}, {"macs", x.macs},
                     {"head_top1", r.headHeldOutTop1[e]}});
  }
  j["exits"] = exits;
  j["confidence"] = confidenceName(r.policy.confidence);
  j["backbone_macs"] = r.policy.backboneMacs;
  j["calibration"] = statsJson(r.policy, r.calibration);
  j["check"] = statsJson(r.policy, r.check);
  j["seconds"] = r.seconds;
  return j.dump(2);
}

}  // namespace edgeopt::api
