// Recurrent layers: RNN, GRU and LSTM (opset 14 forms; layout 0 and 1; forward, reverse and
// bidirectional; sequence_lens; initial states; LSTM peepholes; clip; every activation ONNX lists).
// Declined: input_forget = 1 (LSTM), non-float32 data.
#include <cctype>
#include <map>

#include "compiler/runtime/op_kernel.h"
#include "kernels/ref/rnn.h"

namespace edgeopt::runtime {
namespace {
using ir::DType;
using ir::Tensor;
namespace ref = kernels::ref;

ref::RnnCell cellOf(const ir::Node& n) {
  return n.opType() == "LSTM" ? ref::RnnCell::kLstm : n.opType() == "GRU" ? ref::RnnCell::kGru : ref::RnnCell::kRnn;
}
int activationsPerDirection(ref::RnnCell c) { return c == ref::RnnCell::kLstm ? 3 : c == ref::RnnCell::kGru ? 2 : 1; }
int64_t gatesOf(ref::RnnCell c) { return c == ref::RnnCell::kLstm ? 4 : c == ref::RnnCell::kGru ? 3 : 1; }

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// The activation named `name`; `usesAlpha/usesBeta` say which parameters it consumes.
bool activationKind(const std::string& name, ref::RnnActivation* kind, bool* usesAlpha, bool* usesBeta) {
  static const std::map<std::string, std::tuple<ref::RnnActivation, bool, bool>> kinds = {
      {"sigmoid", {ref::RnnActivation::kSigmoid, false, false}},
      {"tanh", {ref::RnnActivation::kTanh, false, false}},
      {"relu", {ref::RnnActivation::kRelu, false, false}},
      {"hardsigmoid", {ref::RnnActivation::kHardSigmoid, true, true}},
      {"leakyrelu", {ref::RnnActivation::kLeakyRelu, true, false}},
      {"affine", {ref::RnnActivation::kAffine, true, true}},
      {"scaledtanh", {ref::RnnActivation::kScaledTanh, true, true}},
      {"thresholdedrelu", {ref::RnnActivation::kThresholdedRelu, true, false}},
      {"elu", {ref::RnnActivation::kElu, true, false}},
      {"softsign", {ref::RnnActivation::kSoftsign, false, false}},
      {"softplus", {ref::RnnActivation::kSoftplus, false, false}}};
  auto it = kinds.find(lower(name));
  if (it == kinds.end()) return false;
  std::tie(*kind, *usesAlpha, *usesBeta) = it->second;
  return true;
}

// The activations of every direction (defaults when the attribute is absent), alpha/beta consumed
// in order by the activations that take them; defaults as the ONNX operator of the same name.
StatusOr<std::vector<ref::RnnActivationFn>> activations(const ir::Node& n, int directions) {
  const ref::RnnCell cell = cellOf(n);
  std::vector<std::string> names;
  if (const ir::Attribute* a = n.attr("activations")) names = a->strings();
  if (names.empty())
    for (int d = 0; d < directions; ++d) {
      if (cell == ref::RnnCell::kRnn) names.push_back("Tanh");
      if (cell == ref::RnnCell::kGru) names.insert(names.end(), {"Sigmoid", "Tanh"});
      if (cell == ref::RnnCell::kLstm) names.insert(names.end(), {"Sigmoid", "Tanh", "Tanh"});
    }
  if (static_cast<int>(names.size()) != directions * activationsPerDirection(cell))
    return invalidInput("node " + n.describe() + ": " + std::to_string(names.size()) + " activations for " +
                        std::to_string(directions) + " direction(s), expected " +
                        std::to_string(directions * activationsPerDirection(cell)));
  const std::vector<float> alphas = n.attrFloats("activation_alpha"), betas = n.attrFloats("activation_beta");
  size_t nextAlpha = 0, nextBeta = 0;
  std::vector<ref::RnnActivationFn> out;
  for (const std::string& name : names) {
    ref::RnnActivationFn f;
    bool usesAlpha = false, usesBeta = false;
    if (!activationKind(name, &f.kind, &usesAlpha, &usesBeta))
      return unsupported("node " + n.describe() + ": activation '" + name + "' is not supported");
    const std::string l = lower(name);
    f.alpha = l == "leakyrelu" ? 0.01f : l == "hardsigmoid" ? 0.2f : 1.0f;
    f.beta = l == "hardsigmoid" ? 0.5f : l == "affine" ? 0.0f : 1.0f;
    if (usesAlpha && nextAlpha < alphas.size()) f.alpha = alphas[nextAlpha++];
    if (usesBeta && nextBeta < betas.size()) f.beta = betas[nextBeta++];
    out.push_back(f);
  }
  return out;
}

int directionsOf(const ir::Node& n) { return n.attrString("direction", "forward") == "bidirectional" ? 2 : 1; }

Status checkRnn(const ir::Node& n) {
  const std::string dir = n.attrString("direction", "forward");
  if (dir != "forward" && dir != "reverse" && dir != "bidirectional")
    return invalidInput("node " + n.describe() + ": direction '" + dir + "' is not forward, reverse or bidirectional");
  if (n.opType() == "LSTM" && n.attrInt("input_forget", 0) != 0)
    return unsupported("node " + n.describe() + ": input_forget=1 (coupled input and forget gates) is not supported");
  const int64_t layout = n.attrInt("layout", 0);
  if (layout != 0 && layout != 1) return invalidInput("node " + n.describe() + ": layout must be 0 or 1");
  const DType t = knownInputDType(n, 0);
  if (t != DType::kUndefined && t != DType::kFloat32)
    return unsupported("node " + n.describe() + ": dtype " + ir::dtypeName(t) + " is not supported (float32 only)");
  auto acts = activations(n, directionsOf(n));
  return acts.ok() ? Status::Ok() : acts.status();
}

// [a, b, c] -> [b, a, c] (swaps the first two axes of a rank-3 tensor).
Tensor swap01(const Tensor& t) {
  const int64_t a = t.dims()[0], b = t.dims()[1], c = t.dims()[2];
  Tensor out(DType::kFloat32, {b, a, c});
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j)
      for (int64_t k = 0; k < c; ++k) out.data<float>()[(j * a + i) * c + k] = t.data<float>()[(i * b + j) * c + k];
  return out;
}

Status runRnn(OpContext& ctx) {
  const ir::Node& n = ctx.node;
  const ref::RnnCell cell = cellOf(n);
  const int64_t gates = gatesOf(cell);
  const int dirs = directionsOf(n);
  const bool batchMajor = n.attrInt("layout", 0) == 1;
  for (size_t i : {size_t{0}, size_t{1}, size_t{2}})
    if (!ctx.input(i)) return ctx.invalid("input " + std::to_string(i) + " (X, W, R) is required");
  for (size_t i = 0; i < ctx.inputs.size(); ++i)
    if (ctx.input(i) && i != 4 && ctx.input(i)->dtype() != DType::kFloat32)
      return ctx.unsupportedHere("input " + std::to_string(i) + " is " + ir::dtypeName(ctx.input(i)->dtype()) +
                                 " (float32 only)");
  if (ctx.input(0)->rank() != 3) return ctx.invalid("X must be 3-D");
  const Tensor x = batchMajor ? swap01(*ctx.input(0)) : *ctx.input(0);
  const Tensor& w = *ctx.input(1);
  const Tensor& r = *ctx.input(2);
  const int64_t seq = x.dims()[0], batch = x.dims()[1], input = x.dims()[2];
  if (r.rank() != 3 || w.rank() != 3) return ctx.invalid("W and R must be 3-D");
  const int64_t hidden = n.attrInt("hidden_size", r.dims()[2]);
  if (w.dims() != std::vector<int64_t>{dirs, gates * hidden, input})
    return ctx.invalid("W is " + ir::dimsToString(w.dims()) + ", expected [" + std::to_string(dirs) + "," +
                       std::to_string(gates * hidden) + "," + std::to_string(input) + "]");
  if (r.dims() != std::vector<int64_t>{dirs, gates * hidden, hidden})
    return ctx.invalid("R is " + ir::dimsToString(r.dims()) + ", expected [" + std::to_string(dirs) + "," +
                       std::to_string(gates * hidden) + "," + std::to_string(hidden) + "]");
  const Tensor* bias = ctx.input(3);
  if (bias && bias->dims() != std::vector<int64_t>{dirs, 2 * gates * hidden}) return ctx.invalid("B has the wrong shape");
  const Tensor* lens = ctx.input(4);
  if (lens && (lens->dtype() != DType::kInt32 || lens->numel() != batch))
    return ctx.invalid("sequence_lens must be int32 [batch]");
  auto state = [&](size_t i, const char* what) -> StatusOr<std::optional<Tensor>> {
    const Tensor* t = ctx.input(i);
    if (!t) return std::optional<Tensor>();
    Tensor s = batchMajor && t->rank() == 3 ? swap01(*t) : *t;
    if (s.dims() != std::vector<int64_t>{dirs, batch, hidden})
      return ctx.invalid(std::string(what) + " is " + ir::dimsToString(t->dims()) + ", which does not fit");
    return std::optional<Tensor>(std::move(s));
  };
  EDGEOPT_ASSIGN_OR_RETURN(auto h0, state(5, "initial_h"));
  std::optional<Tensor> c0;
  const Tensor* peep = nullptr;
  if (cell == ref::RnnCell::kLstm) {
    EDGEOPT_ASSIGN_OR_RETURN(c0, state(6, "initial_c"));
    peep = ctx.input(7);
    if (peep && peep->dims() != std::vector<int64_t>{dirs, 3 * hidden}) return ctx.invalid("P has the wrong shape");
  }
  EDGEOPT_ASSIGN_OR_RETURN(auto acts, activations(n, dirs));
  Tensor y(DType::kFloat32, {seq, dirs, batch, hidden});
  Tensor yh(DType::kFloat32, {dirs, batch, hidden}), yc(DType::kFloat32, {dirs, batch, hidden});
  const std::string direction = n.attrString("direction", "forward");
  for (int d = 0; d < dirs; ++d) {
    ref::RnnParams p;
    p.cell = cell;
    p.seq = seq;
    p.batch = batch;
    p.input = input;
    p.hidden = hidden;
    p.reverse = direction == "reverse" || d == 1;
    p.clip = n.attrFloat("clip", 0.0f);
    p.linearBeforeReset = n.attrInt("linear_before_reset", 0) != 0;
    const int per = activationsPerDirection(cell);
    p.f = acts[static_cast<size_t>(d * per)];
    if (per > 1) p.g = acts[static_cast<size_t>(d * per + 1)];
    if (per > 2) p.h = acts[static_cast<size_t>(d * per + 2)];
    const int64_t gh = gates * hidden;
    const float* wb = bias ? bias->data<float>() + d * 2 * gh : nullptr;
    ref::f32_rnn__scalar(p, x.data<float>(), w.data<float>() + d * gh * input, r.data<float>() + d * gh * hidden, wb,
                         wb ? wb + gh : nullptr, peep ? peep->data<float>() + d * 3 * hidden : nullptr,
                         lens ? lens->data<int32_t>() : nullptr, h0 ? h0->data<float>() + d * batch * hidden : nullptr,
                         c0 ? c0->data<float>() + d * batch * hidden : nullptr, y.data<float>() + d * batch * hidden,
                         dirs * batch * hidden, hidden, yh.data<float>() + d * batch * hidden,
                         yc.data<float>() + d * batch * hidden);
  }
  if (batchMajor) {
    // Y [seq, dirs, batch, hidden] -> [batch, seq, dirs, hidden]; Y_h, Y_c [dirs, batch, hidden] -> [batch, dirs, hidden].
    Tensor yb(DType::kFloat32, {batch, seq, dirs, hidden});
    for (int64_t t = 0; t < seq; ++t)
      for (int64_t d = 0; d < dirs; ++d)
        for (int64_t b = 0; b < batch; ++b)
          for (int64_t k = 0; k < hidden; ++k)
            yb.data<float>()[((b * seq + t) * dirs + d) * hidden + k] = y.data<float>()[((t * dirs + d) * batch + b) * hidden + k];
    y = std::move(yb);
    yh = swap01(yh);
    yc = swap01(yc);
  }
  if (!ctx.outputs.empty()) ctx.outputs[0] = std::move(y);
  if (ctx.outputs.size() > 1) ctx.outputs[1] = std::move(yh);
  if (ctx.outputs.size() > 2) ctx.outputs[2] = std::move(yc);
  return Status::Ok();
}

}  // namespace

void addRnnOps(std::vector<OpDef>& t) {
  t.push_back({"RNN", checkRnn, runRnn});
  t.push_back({"GRU", checkRnn, runRnn});
  t.push_back({"LSTM", checkRnn, runRnn});
}

}  // namespace edgeopt::runtime
