// report.html: compile's report as one self-contained page (inline CSS and SVG; no script, no
// network), drawn from the same CompileReport as report.json and report.md.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "api/compile.h"
#include "api/svg_plot.h"
#include "compiler/ir/ir.h"

namespace edgeopt::api {
namespace {

using svg::escape;
using svg::number;


std::string pct(double fraction) { return fraction < 0 ? "-" : number(100 * fraction, 4) + " %"; }
std::string kb(int64_t bytes) { return number(static_cast<double>(bytes) / 1024.0, 4) + " KB"; }
std::string row(const std::vector<std::string>& cells, const std::string& cls = "") {
  std::string s = cls.empty() ? "<tr>" : "<tr class=\"" + cls + "\">";
  for (const auto& c : cells) s += "<td>" + c + "</td>";
  return s + "</tr>\n";
}
std::string header(const std::vector<std::string>& cells) {
  std::string s = "<tr>";
  for (const auto& c : cells) s += "<th>" + escape(c) + "</th>";
  return s + "</tr>\n";
}
std::string figure(const std::string& svgText, const std::string& caption) {
  return "<figure>" + svgText + "<figcaption>" + caption + "</figcaption></figure>\n";
}

std::string entryName(const CompileEntry& e) { return e.target + " " + e.precision; }

std::string tradeoffPlot(const CompileReport& r) {
  const bool accuracy = std::any_of(r.entries.begin(), r.entries.end(), [](const CompileEntry& e) { return e.top1 >= 0; });
  svg::ScatterPlot p;
  p.name = "tradeoff";
  p.title = accuracy ? "Accuracy against latency, per target and precision" : "Model size against latency, per target and precision";
  p.xLabel = "latency per run, median (ms)";
  p.yLabel = accuracy ? "top-1 (%)" : "model size (KB)";
  p.shapes = {"fp32", "int8"};
  bool estimated = false;
  for (const auto& e : r.entries) {
    auto it = std::find(p.series.begin(), p.series.end(), e.target);
    if (it == p.series.end()) it = p.series.insert(p.series.end(), e.target);
    if (e.latencyMedianMs <= 0 || (accuracy && e.top1 < 0)) continue;
    svg::ScatterPoint pt;
    pt.x = e.latencyMedianMs;
    pt.y = accuracy ? 100 * e.top1 : static_cast<double>(e.modelBytes) / 1024.0;
    pt.series = static_cast<size_t>(it - p.series.begin());
    pt.shape = e.precision == "int8" ? 1 : 0;
    pt.hollow = e.latencyEstimated;
    estimated = estimated || e.latencyEstimated;
    pt.label = entryName(e);
    pt.tooltip = entryName(e) + ": " + number(e.latencyMedianMs, 4) + " ms" + (e.latencyEstimated ? " (estimate)" : "") +
                 (e.top1 >= 0 ? ", top-1 " + pct(e.top1) : "") + ", " + kb(e.modelBytes);
    p.points.push_back(pt);
  }
  if (estimated) p.hollowMeans = "latency estimated";
  if (p.points.empty()) return "";
  return figure(svg::scatter(p), "Each point is one row of the results table. Filled: latency measured on this machine; hollow: a target's "
                                 "cost-model estimate (not comparable with a measurement). Up and to the left is better.");
}

std::string sizePlot(const CompileReport& r) {
  svg::BarChart c;
  c.name = "size";
  c.title = "Model size and memory per target and precision";
  c.unit = "KB";
  c.series = {"model file / artifact", "packed weights", "intermediates (arena)"};
  for (const auto& e : r.entries)
    c.bars.push_back({entryName(e), "", {e.modelBytes / 1024.0, e.packedWeightBytes / 1024.0, e.arenaBytes / 1024.0}, ""});
  return figure(svg::barChart(c), "Model file: the ONNX file (x86) or the emitted artifact's files on disk; packed weights as the target "
                                  "stores them; intermediates: the target's planned arena for one run at the latency input.");
}

std::string sqnrPlot(const QuantizeReport& q) {
  if (q.layers.empty()) return "";
  svg::BarChart c;
  c.name = "sqnr";
  c.title = "Per-layer quantization error: SQNR of each int8 layer's output against fp32";
  c.unit = "dB";
  c.series = {"SQNR"};
  c.markers = {{20, "20 dB"}, {30, "30 dB"}};
  for (const auto& l : q.layers) {
    const double v = std::isfinite(l.sqnrDb) ? l.sqnrDb : 99;
    const char* color = v < 20 ? "#D55E00" : v < 30 ? "#E69F00" : "#009E73";
    std::string tip = l.node + ": " + number(l.sqnrDb, 4) + " dB, cosine " + number(l.cosine, 6);
    if (std::isfinite(l.outputSqnrDb)) tip += ", model output with only this layer in int8: " + number(l.outputSqnrDb, 4) + " dB";
    c.bars.push_back({l.node, tip, {v}, color});
  }
  return figure(svg::barChart(c), "10·log10(Σx² / Σ(x − x_int8)²) of each int8 layer's output on " + std::to_string(q.attributionSamples) +
                                      " calibration samples (" + escape(q.calibrator) +
                                      " ranges). Below 20 dB (orange-red) a layer is a candidate to keep in float "
                                      "(<code>quantize --max-drop</code> / <code>--min-sqnr</code>).");
}

// The layers of one row by their share of its time: the largest, then the rest as one bar.
std::string layerLatencyPlot(const CompileEntry& e, size_t index) {
  if (e.layers.empty()) return "";
  double total = 0;
  for (const auto& l : e.layers) total += l.ms;
  if (total <= 0) return "";
  std::vector<targets::LayerLatency> sorted = e.layers;
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.ms > b.ms; });
  constexpr size_t kShown = 14;
  svg::BarChart c;
  c.name = "layers-" + std::to_string(index);
  c.title = "Per-layer latency share: " + entryName(e) + (e.latencyEstimated ? " (estimate)" : " (measured)");
  c.unit = "% of time";
  c.series = {"share"};
  c.maxValue = 100;
  double rest = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i >= kShown) {
      rest += sorted[i].ms;
      continue;
    }
    c.bars.push_back({sorted[i].node + " (" + sorted[i].op + ")", sorted[i].node + " (" + sorted[i].op + "), " + number(sorted[i].ms, 4) + " ms",
                      {100 * sorted[i].ms / total}, e.latencyEstimated ? "#56B4E9" : "#0072B2"});
  }
  if (rest > 0)
    c.bars.push_back({"the other " + std::to_string(sorted.size() - kShown) + " steps", "", {100 * rest / total}, "#9aa1ad"});
  const std::string how = e.latencyEstimated
                              ? (e.hardware ? "each dataflow process's cycles at the design clock (the latency bound is their sum)"
                                            : "the target's cost model per kernel step (steps it runs in float or with the portable kernel are not in it)")
                              : "the median of each step over the timed runs (bench's per-step profile)";
  return figure(svg::barChart(c), escape(entryName(e)) + ": " + std::to_string(e.layers.size()) + " steps, " + number(total, 4) +
                                      " ms in all; " + how + ".");
}

std::string resultsTable(const CompileReport& r) {
  std::string s = "<table>\n" + header({"target", "precision", "top-1", "top-5", "latency median", "p90", "model / artifact", "packed weights",
                                        "arena", "MACs"});
  for (const auto& e : r.entries) {
    const std::string est = e.latencyEstimated ? "~" : "";
    s += row({escape(e.target), escape(e.precision), pct(e.top1), pct(e.top5), est + number(e.latencyMedianMs, 4) + " ms",
              est + number(e.latencyP90Ms, 4) + " ms", kb(e.modelBytes), kb(e.packedWeightBytes), kb(e.arenaBytes),
              std::to_string(e.macs)});
  }
  s += "</table>\n";
  if (!r.entries.empty()) {
    std::string dims;
    for (const auto& d : r.entries[0].benchDims) dims += (dims.empty() ? "" : ", ") + ir::dimsToString(d);
    s += "<p>Latency: median and p90 of the timed runs after warm-up, one input of " + escape(dims) +
         ", on the machine that ran compile; ~ marks a target's estimate. Accuracy on " +
         (r.entries[0].evalSamples ? std::to_string(r.entries[0].evalSamples) + " evaluation samples" : std::string("no evaluation data (none given)")) +
         ". MACs: Conv/Gemm/MatMul at batch 1.</p>\n";
  }
  for (const auto& e : r.entries)
    if (!e.note.empty()) s += "<p><b>" + escape(e.target) + "</b>: " + escape(e.note) + ".</p>\n";
  return s;
}

std::string budgetsSection(const CompileReport& r) {
  if (r.budgets.empty()) return "";
  size_t broken = 0;
  for (const auto& c : r.budgets) broken += !c.passed;
  std::string s = "<h2 id=\"budgets\">Budgets</h2>\n<p>" + std::to_string(r.budgets.size() - broken) + " of " + std::to_string(r.budgets.size()) +
                  " checks pass" + (broken ? "; <span class=\"fail\">" + std::to_string(broken) + " broken</span> (compile exits 3)" : "") +
                  ".</p>\n<table>\n" + header({"budget", "row", "result", "measured"});
  for (const auto& c : r.budgets)
    s += row({"<code>" + escape(c.budget.text) + "</code>", escape(c.target.empty() ? "-" : c.target + " " + c.precision),
              c.passed ? "<span class=\"pass\">pass</span>" : "<span class=\"fail\">FAIL</span>", escape(describeCheck(c))},
             c.passed ? "" : "fail-row");
  return s + "</table>\n";
}

std::string stagesSection(const CompileReport& r) {
  if (r.stages.empty()) return "";
  std::string s = "<h2 id=\"stages\">Compression stages</h2>\n<table>\n" + header({"stage", "top-1 (x86)", "MACs", "parameters", "size", "time"});
  for (const auto& st : r.stages)
    s += row({escape(st.stage), pct(st.top1), std::to_string(st.macs), std::to_string(st.parameters), kb(st.modelBytes), number(st.seconds, 3) + " s"});
  s += "</table>\n";
  const StageRow& first = r.stages.front();
  svg::BarChart c;
  c.name = "stages";
  c.title = "Compression stages against the original (%)";
  c.unit = "% of original";
  c.series = {"MACs", "parameters", "size"};
  auto share = [](int64_t v, int64_t of) { return of > 0 ? 100.0 * static_cast<double>(v) / static_cast<double>(of) : 0.0; };
  for (const auto& st : r.stages) {
    c.bars.push_back({st.stage + (st.top1 >= 0 ? " (top-1 " + pct(st.top1) + ")" : ""), "",
                      {share(st.macs, first.macs), share(st.parameters, first.parameters), share(st.modelBytes, first.modelBytes)}, ""});
  }
  s += figure(svg::barChart(c), "MACs, parameters and ONNX file size of each stage's model as a share of the original's; top-1 on x86 in "
                                "the labels (fp32; int8 for the int8 stage).");
  if (r.prune) {
    svg::BarChart g;
    g.name = "prune-groups";
    g.title = "Channels kept per prunable group";
    g.unit = "channels";
    g.series = {"before", "kept"};
    std::string frozen;
    for (const auto& sp : r.prune->channels.spaces) {
      if (!sp.frozenBy.empty()) {
        frozen += "<li><code>" + escape(sp.name) + "</code>: " + escape(sp.frozenBy) + "</li>";
        continue;
      }
      g.bars.push_back({sp.name, "", {static_cast<double>(sp.channels), static_cast<double>(sp.kept)}, ""});
    }
    if (!g.bars.empty()) s += figure(svg::barChart(g), "Each prunable group of channels (dependency group: every tensor that must lose the same channels).");
    if (!frozen.empty()) s += "<p>Frozen groups (not pruned) and why:</p><ul>" + frozen + "</ul>\n";
    int64_t weights = 0, zeros = 0;
    for (const auto& l : r.prune->sparsity) weights += l.weights, zeros += l.zeros;
    if (zeros > 0) {
      svg::BarChart sp;
      sp.name = "sparsity";
      sp.title = "Zero weights per layer (unstructured pruning)";
      sp.unit = "% zero";
      sp.series = {"zero"};
      sp.maxValue = 100;
      for (const auto& l : r.prune->sparsity)
        sp.bars.push_back({l.node, "", {l.weights ? 100.0 * static_cast<double>(l.zeros) / static_cast<double>(l.weights) : 0.0}, ""});
      s += figure(svg::barChart(sp), std::to_string(zeros) + " of " + std::to_string(weights) + " Conv/Gemm/MatMul weights are zero.");
    }
  }
  if (r.finetune && !r.finetune->epochs.empty()) {
    s += "<p>Fine-tuning: " + std::to_string(r.finetune->trainSamples) + " training samples, " + std::to_string(r.finetune->heldOutSamples) +
         " held out; held-out top-1 teacher " + pct(r.finetune->teacherHeldOutTop1) + ", student before " +
         pct(r.finetune->studentHeldOutTop1Before) + ", kept epoch " + pct(r.finetune->studentHeldOutTop1After) + ".</p>\n<table>\n" +
         header({"epoch", "loss", "train top-1", "held-out top-1", "time"});
    for (const auto& ep : r.finetune->epochs)
      s += row({std::to_string(ep.epoch), number(ep.loss, 4), pct(ep.trainTop1), pct(ep.heldOutTop1), number(ep.seconds, 3) + " s"});
    s += "</table>\n";
  }
  return s;
}

std::string hardwareSection(const CompileReport& r) {
  std::string s;
  for (size_t i = 0; i < r.entries.size(); ++i) {
    const auto& e = r.entries[i];
    if (!e.hardware) continue;
    const auto& hw = *e.hardware;
    svg::BarChart c;
    c.name = "hardware-" + std::to_string(i);
    c.title = e.target + " resources on " + hw.part + " (estimate)";
    c.unit = "% of the part";
    c.series = {"used"};
    c.markers = {{100, "capacity"}};
    for (const auto& res : hw.resources) {
      const double share = res.capacity > 0 ? 100.0 * static_cast<double>(res.estimate) / static_cast<double>(res.capacity) : 0;
      c.bars.push_back({res.name, res.name + ": " + std::to_string(res.estimate) + " of " + std::to_string(res.capacity), {share},
                        share > 100 ? "#D55E00" : "#009E73"});
    }
    s += "<h2>" + escape(e.target) + ": hardware estimate</h2>\n<p>One frame every " + std::to_string(hw.cyclesPerFrame) +
         " cycles, latency at most " + std::to_string(hw.latencyCycles) + " cycles at " + number(hw.clockMhz, 4) + " MHz; " +
         (hw.fits ? "<span class=\"pass\">fits</span>" : "<span class=\"fail\">does not fit</span>") + ".</p>\n" +
         figure(svg::barChart(c), "Estimated DSP, BRAM18, LUT and FF use against the part's capacity.");
  }
  return s;
}

// The early-exit stage: each exit's place, threshold and cost; with evaluation data the share of
// samples leaving at each exit (plot) and the cascade's accuracy, MACs and latency.
std::string exitsSection(const CompileReport& r) {
  if (!r.exits) return "";
  const CompileExits& x = *r.exits;
  const ExitPolicy& p = x.training.policy;
  const ExitStats* ev = x.evaluation ? &*x.evaluation : nullptr;
  auto share = [&](double macs) { return p.backboneMacs > 0 ? macs / static_cast<double>(p.backboneMacs) : 0.0; };
  std::string s = "<h2>Early exits</h2>\n<p><code>" + escape(x.model) + "</code> (" + escape(x.precision) + "): " +
                  std::to_string(p.exits.size()) + " exits; thresholds chosen on " + std::to_string(x.training.calibrationSamples) +
                  " held-out training samples (top-1 " + pct(x.training.calibration.cascadeTop1()) + " with exits, " +
                  pct(x.training.calibration.finalTop1()) + " without), checked on " + std::to_string(x.training.checkSamples) +
                  " more (" + pct(x.training.check.cascadeTop1()) + " against " + pct(x.training.check.finalTop1()) + ").</p>\n";
  if (ev)
    s += "<p>On the evaluation data (" + std::to_string(ev->samples) + " samples, x86, batch 1): top-1 " + pct(ev->cascadeTop1()) +
         " with exits, " + pct(ev->finalTop1()) + " without; average MACs " + number(share(ev->averageMacs), 3) + "x; " +
         number(ev->cascadeMsPerSample, 4) + " ms per sample with exits, " + number(ev->backboneMsPerSample, 4) + " ms without.</p>\n";
  std::vector<std::string> cols = {"exit", "tensor", "threshold", "MACs (share)"};
  if (ev) cols.insert(cols.end(), {"rate", "accuracy"});
  s += "<table>\n" + header(cols);
  svg::BarChart c;
  c.name = "exit-rates";
  c.title = "Where the evaluation samples leave";
  c.unit = "% of samples";
  c.series = {"leave here"};
  c.maxValue = 100;
  for (size_t e = 0; e <= p.exits.size(); ++e) {
    const bool last = e == p.exits.size();
    const std::string name = last ? p.finalOutput : p.exits[e].output;
    std::vector<std::string> cells = {name, last ? "-" : p.exits[e].tensor,
                                      last ? "-" : (p.exits[e].threshold > 1 ? "never" : number(p.exits[e].threshold, 4)),
                                      number(share(static_cast<double>(last ? p.finalMacs : p.exits[e].macs)), 3)};
    if (ev) {
      cells.push_back(pct(ev->rate(e)));
      cells.push_back(ev->accuracy(e) >= 0 ? pct(ev->accuracy(e)) : "-");
      c.bars.push_back({name, "", {100 * ev->rate(e)}, ""});
    }
    s += row(cells);
  }
  s += "</table>\n";
  if (ev) s += figure(svg::barChart(c), "The share of the evaluation samples that each exit answers (the final output answers the rest).");
  return s;
}

std::string quantizationSection(const CompileReport& r) {
  if (!r.quantized) return "";
  const auto& q = r.quantization;
  std::string s = "<h2 id=\"int8\">int8 quantization</h2>\n<p>Calibrator <b>" + escape(q.calibrator) + "</b> on " +
                  std::to_string(q.calibrationSamples) + " samples; " + std::to_string(q.quantizedNodes.size()) + " nodes in int8.</p>\n" +
                  sqnrPlot(q);
  if (!q.floatNodes.empty()) {
    s += "<p>Kept in float:</p><ul>";
    for (const auto& n : q.floatNodes) s += "<li>" + escape(n) + "</li>";
    s += "</ul>\n";
  }
  for (const auto& e : r.entries) {
    if (e.keptInFloat.empty()) continue;
    s += "<p>" + escape(e.target) + " int8: " + std::to_string(e.keptInFloat.size()) +
         " node(s) with an int8 form run in float on this target:</p><ul>";
    for (const auto& n : e.keptInFloat) s += "<li>" + escape(n) + "</li>";
    s += "</ul>\n";
  }
  return s;
}

std::string summaryCards(const CompileReport& r) {
  std::string s = "<div class=\"cards\">";
  auto card = [&](const std::string& value, const std::string& what, const std::string& cls = "") {
    s += "<div class=\"card\"><b" + (cls.empty() ? "" : " class=\"" + cls + "\"") + ">" + value + "</b><span>" + what + "</span></div>";
  };
  std::set<std::string> targets;
  for (const auto& e : r.entries) targets.insert(e.target);
  card(std::to_string(targets.size()), "targets");
  card(std::to_string(r.parameters), "parameters");
  const CompileEntry* fastest = nullptr;
  for (const auto& e : r.entries)
    if (!e.latencyEstimated && e.latencyMedianMs > 0 && (!fastest || e.latencyMedianMs < fastest->latencyMedianMs)) fastest = &e;
  if (fastest) card(number(fastest->latencyMedianMs, 3) + " ms", "fastest measured: " + escape(entryName(*fastest)));
  const CompileEntry* best = nullptr;
  for (const auto& e : r.entries)
    if (e.top1 >= 0 && (!best || e.top1 > best->top1)) best = &e;
  if (best) card(pct(best->top1), "best top-1: " + escape(entryName(*best)));
  if (!r.budgets.empty()) {
    size_t passed = 0;
    for (const auto& c : r.budgets) passed += c.passed;
    card(std::to_string(passed) + " / " + std::to_string(r.budgets.size()), "budget checks passed", passed == r.budgets.size() ? "pass" : "fail");
  }
  card(number(r.peakRssMb, 4) + " MB", "compile's peak memory");
  return s + "</div>\n";
}

}  // namespace

std::string compileReportHtml(const CompileReport& r) {
  const std::string model = std::filesystem::path(r.modelPath).filename().string();
  std::string b = "<h1>edgeopt report: " + escape(model) + "</h1>\n<p class=\"sub\">Generated by <code>edgeopt compile</code> " +
                  escape(r.version) + " from <code>" + escape(r.modelPath) + "</code> (schema " + kReportSchema +
                  "; the same figures are in report.json). Self-contained: it loads nothing.</p>\n";
  b += summaryCards(r);
  b += "<h2 id=\"results\">Results per target and precision</h2>\n" + resultsTable(r) + tradeoffPlot(r) + sizePlot(r);
  b += budgetsSection(r);
  b += stagesSection(r);
  b += exitsSection(r);
  b += quantizationSection(r);
  std::string layers;
  for (size_t i = 0; i < r.entries.size(); ++i) layers += layerLatencyPlot(r.entries[i], i);
  if (!layers.empty()) b += "<h2 id=\"layers\">Per-layer latency</h2>\n" + layers;
  b += hardwareSection(r);
  return svg::page("edgeopt report: " + model, b);
}

}  // namespace edgeopt::api
