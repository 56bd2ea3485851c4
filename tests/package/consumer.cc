// Loads a model through the installed C++ API and runs it once with the reference executor.
#include <api/edgeopt.h>

#include <iostream>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  auto model = edgeopt::api::loadModel(argv[1]);
  if (!model.ok()) {
    std::cerr << model.status().message() << "\n";
    return 1;
  }
  const auto* input = model->graph->inputs().at(0);
  std::vector<int64_t> dims;
  for (const auto& d : *input->shape()) dims.push_back(d.isKnown() ? d.value : 1);
  auto outs = edgeopt::api::runReference(*model, {{input->name(), edgeopt::ir::Tensor(input->dtype(), dims)}});
  if (!outs.ok()) {
    std::cerr << outs.status().message() << "\n";
    return 1;
  }
  std::cout << "outputs: " << outs->size() << " first shape " << edgeopt::ir::dimsToString(outs->begin()->second.dims()) << "\n";
  return 0;
}
