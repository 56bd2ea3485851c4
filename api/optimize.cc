#include "api/optimize.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "compiler/onnx/onnx_io.h"
#include "passes/registry.h"

namespace edgeopt::api {

Status optimize(ir::Model& model, const OptimizeOptions& options, OptimizeReport* report) {
  pass::PassManager pm;
  if (options.passes.empty()) {
    pm = passes::defaultPipeline();
  } else {
    EDGEOPT_ASSIGN_OR_RETURN(pm, passes::pipelineFromNames(options.passes));
  }
  if (!options.dumpAfter.empty()) {
    bool inPipeline = false;
    for (const auto& p : pm.passes()) inPipeline = inPipeline || p->info().name == options.dumpAfter;
    if (!inPipeline) return invalidInput("--dump-after '" + options.dumpAfter + "': no such pass in the pipeline");
  }
  report->nodesBefore = model.graph->numNodes();
  report->opsBefore = ir::opHistogram(*model.graph);
  pass::PipelineOptions po;
  po.verify = options.verify;
  po.maxIterations = options.maxIterations;
  po.inputShapes = options.inputShapes;
  bool dumped = false;
  if (!options.dumpAfter.empty()) {
    po.dumpAfter = options.dumpAfter;
    po.dump = [&](const ir::Model& m, const std::string&) {
      dumped = true;
      return onnx_io::exportModel(m, options.dumpPath);
    };
  }
  Status st = pm.run(model, po, &report->passes);
  if (st.ok()) st = model.graph->verify();
  report->nodesAfter = model.graph->numNodes();
  if (!st.ok()) {
    if (dumped) std::remove(options.dumpPath.c_str());
    return st;
  }
  report->opsAfter = ir::opHistogram(*model.graph);
  return Status::Ok();
}

std::string optimizeReportTable(const OptimizeReport& report, bool verify) {
  std::ostringstream os;
  char line[256];
  std::snprintf(line, sizeof line, "%-4s %-22s %-8s %7s %7s %10s%s\n", "iter", "pass", "changed", "nodes", "->",
                "time ms", verify ? "   max rel err" : "");
  os << line;
  for (const auto& r : report.passes) {
    std::snprintf(line, sizeof line, "%-4d %-22s %-8s %7zu %7zu %10.3f", r.iteration, r.name.c_str(),
                  r.changed ? "yes" : "no", r.nodesBefore, r.nodesAfter, r.milliseconds);
    os << line;
    if (verify && r.maxRelativeError >= 0) {
      std::snprintf(line, sizeof line, "   %.3e", r.maxRelativeError);
      os << line;
    }
    os << "\n";
  }
  os << "nodes: " << report.nodesBefore << " -> " << report.nodesAfter << "\n";
  return os.str();
}

std::string optimizeReportJson(const OptimizeReport& report, const std::string& output, const std::string& dumpPath) {
  nlohmann::ordered_json j;
  j["output"] = output;
  if (!dumpPath.empty()) j["dump"] = dumpPath;
  j["nodes"] = {{"before", report.nodesBefore}, {"after", report.nodesAfter}};
  nlohmann::ordered_json passes = nlohmann::ordered_json::array();
  for (const auto& r : report.passes) {
    nlohmann::ordered_json x = {{"pass", r.name}, {"iteration", r.iteration}, {"changed", r.changed},
                                {"nodes_before", r.nodesBefore}, {"nodes_after", r.nodesAfter}, {"ms", r.milliseconds}};
    if (r.maxRelativeError >= 0) x["max_relative_error"] = r.maxRelativeError;
    passes.push_back(x);
  }
  j["passes"] = passes;
  j["ops_before"] = report.opsBefore;
  j["ops_after"] = report.opsAfter;
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::vector<std::string> describePasses() {
  std::vector<std::string> out;
  for (const auto& p : passes::allPasses()) {
    std::string line = p->info().name + ": " + p->info().description;
    if (!p->info().prerequisites.empty()) {
      line += " (after:";
      for (const auto& r : p->info().prerequisites) line += " " + r;
      line += ")";
    }
    out.push_back(line);
  }
  return out;
}

}  // namespace edgeopt::api
