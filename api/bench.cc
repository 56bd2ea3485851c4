#include "api/bench.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "compiler/pass/pass_manager.h"
#include "compiler/runtime/executor.h"

namespace edgeopt::api {
namespace {

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

}  // namespace

StatusOr<BenchResult> benchmark(const ir::Model& model, const BenchOptions& options) {
  EDGEOPT_ASSIGN_OR_RETURN(auto runner, ModelRunner::create(model, options.runner));
  return benchmark(model, *runner, options);
}

StatusOr<BenchResult> benchmark(const ir::Model& model, ModelRunner& runner, const BenchOptions& options) {
  if (options.iters < 1) return invalidInput("--iters must be at least 1");
  const ir::Graph& g = *model.graph;
  for (const auto& [name, dims] : options.inputShapes) {
    const ir::Value* v = g.findValue(name);
    if (!v || !v->isGraphInput()) return invalidInput("--shape names '" + name + "', which is not a model input");
  }
  EDGEOPT_ASSIGN_OR_RETURN(auto inputs, pass::randomInputs(g, options.inputShapes, 1));
  for (size_t i = 0; i < inputs.size(); ++i) {
    Status fits = runtime::Executor::checkInput(*g.inputs()[i], inputs[i]);
    if (!fits.ok())
      return invalidInput("input '" + g.inputs()[i]->name() + "' " + ir::dimsToString(inputs[i].dims()) +
                          " does not fit the model input " + ir::shapeToString(g.inputs()[i]->shape()) + " (--shape)");
  }
  BenchResult r;
  r.target = runner.target().info().name;
  r.threads = options.runner.threads;
  for (const auto& t : inputs) r.inputDims.push_back(t.dims());
  r.batch = !inputs.empty() && inputs[0].rank() > 0 ? inputs[0].dims()[0] : 1;
  r.iters = options.iters;
  targets::Executable& exe = runner.executable();
  EDGEOPT_ASSIGN_OR_RETURN(const std::vector<targets::Step> steps, exe.steps(r.inputDims));
  for (int i = 0; i < options.warmup; ++i) EDGEOPT_RETURN_IF_ERROR(runner.run(inputs).status());
  std::vector<double> ms;
  std::vector<std::vector<double>> stepMs(steps.size());
  std::vector<double> stepSeconds;
  for (int i = 0; i < options.iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    EDGEOPT_RETURN_IF_ERROR(exe.runProfiled(inputs, steps.empty() ? nullptr : &stepSeconds).status());
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    for (size_t s = 0; s < stepSeconds.size() && s < steps.size(); ++s) stepMs[s].push_back(stepSeconds[s] * 1e3);
  }
  r.medianMs = percentile(ms, 0.5);
  r.p90Ms = percentile(ms, 0.9);
  r.minMs = percentile(ms, 0.0);
  r.throughput = r.medianMs > 0 ? static_cast<double>(r.batch) * 1e3 / r.medianMs : 0;
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  r.peakRssMb = static_cast<double>(ru.ru_maxrss) / 1024.0;
  EDGEOPT_ASSIGN_OR_RETURN(const targets::MemoryFigures memory, exe.memory(r.inputDims));
  r.arenaBytes = memory.arenaBytes;
  r.weightBytes = memory.weightBytes;
  if (!steps.empty()) {
    // Measured on one thread (about 0.1 s each), times the threads used.
    const targets::PeakRates peaks = runner.target().measurePeaks(0.05);
    r.peakGopsInt8 = peaks.int8Gops * r.threads;
    r.peakGopsFp32 = peaks.fp32Gflops * r.threads;
    r.outputStageGoutputs = peaks.int8OutputsG * r.threads;
    double total = 0;
    for (size_t s = 0; s < steps.size(); ++s) {
      const targets::Step& info = steps[s];
      StepProfile p{info.node, info.op, info.kernel, percentile(stepMs[s], 0.5), 0, 0, 0, info.macs, info.outputs};
      if (info.macs > 0 && p.medianMs > 0) {
        p.gops = 2.0 * static_cast<double>(info.macs) / (p.medianMs * 1e6);
        const bool int8 = info.op.rfind("edgeopt.Q", 0) == 0;
        const double peak = int8 ? r.peakGopsInt8 : r.peakGopsFp32;
        p.peakShare = peak > 0 ? p.gops / peak : 0;
      }
      total += p.medianMs;
      r.steps.push_back(p);
    }
    for (auto& p : r.steps) p.share = total > 0 ? p.medianMs / total : 0;
  }
  return r;
}

std::string benchResultText(const BenchResult& r, int topSteps) {
  std::string s;
  char line[512];
  std::string dims;
  for (const auto& d : r.inputDims) dims += (dims.empty() ? "" : ", ") + ir::dimsToString(d);
  std::snprintf(line, sizeof line, "target %s, %d thread(s), inputs %s, %d timed runs\n", r.target.c_str(), r.threads,
                dims.c_str(), r.iters);
  s += line;
  std::snprintf(line, sizeof line, "latency: median %.3f ms, p90 %.3f ms, min %.3f ms; throughput %.1f samples/s\n",
                r.medianMs, r.p90Ms, r.minMs, r.throughput);
  s += line;
  std::snprintf(line, sizeof line, "peak memory (process RSS): %.1f MB", r.peakRssMb);
  s += line;
  if (r.arenaBytes > 0 || r.weightBytes > 0) {
    std::snprintf(line, sizeof line, "; arena %.2f MB, packed weights %.2f MB", r.arenaBytes / 1048576.0, r.weightBytes / 1048576.0);
    s += line;
  }
  s += "\n";
  if (r.steps.empty()) return s;
  std::vector<size_t> order(r.steps.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return r.steps[a].medianMs > r.steps[b].medianMs; });
  std::snprintf(line, sizeof line,
                "measured peak (AVX-512 VNNI / FMA stream, x threads): int8 %.0f GOP/s, fp32 %.0f GOP/s; "
                "int8 output stage %.1f G outputs/s\n",
                r.peakGopsInt8, r.peakGopsFp32, r.outputStageGoutputs);
  s += line;
  std::snprintf(line, sizeof line, "%-40s %-18s %9s %7s %8s %6s  %s\n", "step (slowest first)", "op", "ms", "share", "GOP/s", "peak", "kernel");
  s += line;
  const size_t shown = std::min(order.size(), static_cast<size_t>(std::max(topSteps, 0)));
  for (size_t k = 0; k < shown; ++k) {
    const StepProfile& p = r.steps[order[k]];
    std::string name = p.node.size() > 40 ? "..." + p.node.substr(p.node.size() - 37) : p.node;
    if (p.gops > 0)
      std::snprintf(line, sizeof line, "%-40s %-18s %9.3f %6.1f%% %8.1f %5.0f%%  %s\n", name.c_str(), p.op.c_str(), p.medianMs,
                    100 * p.share, p.gops, 100 * p.peakShare, p.kernel.c_str());
    else
      std::snprintf(line, sizeof line, "%-40s %-18s %9.3f %6.1f%% %8s %6s  %s\n", name.c_str(), p.op.c_str(), p.medianMs,
                    100 * p.share, "-", "-", p.kernel.c_str());
    s += line;
  }
  if (shown < order.size()) s += "(" + std::to_string(order.size() - shown) + " more steps; --json lists all)\n";
  return s;
}

std::string benchResultJson(const BenchResult& r) {
  nlohmann::json j;
  j["target"] = r.target;
  j["threads"] = r.threads;
  j["input_dims"] = r.inputDims;
  j["iters"] = r.iters;
  j["latency_ms"] = {{"median", r.medianMs}, {"p90", r.p90Ms}, {"min", r.minMs}};
  j["throughput_per_s"] = r.throughput;
  j["peak_rss_mb"] = r.peakRssMb;
  if (!r.steps.empty()) {
    j["arena_bytes"] = r.arenaBytes;
    j["packed_weight_bytes"] = r.weightBytes;
    j["measured_peak_gops"] = {{"int8", r.peakGopsInt8}, {"fp32", r.peakGopsFp32}};
    j["measured_output_stage_goutputs_per_s"] = r.outputStageGoutputs;
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& p : r.steps)
      steps.push_back({{"node", p.node}, {"op", p.op}, {"kernel", p.kernel}, {"median_ms", p.medianMs}, {"share", p.share},
                       {"gops", p.gops}, {"peak_share", p.peakShare}, {"macs", p.macs}, {"outputs", p.outputs}});
    j["steps"] = steps;
  }
  return j.dump(2);
}

}  // namespace edgeopt::api
