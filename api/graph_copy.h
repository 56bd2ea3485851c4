// Copying a node from one graph into another (split's parts, exits' heads and cascade segments).
#pragma once

#include <functional>
#include <map>
#include <string>

#include "compiler/ir/ir.h"
#include "compiler/ir/status.h"

namespace edgeopt::api {

// Adds a copy of `n` (op, domain, attributes; its outputs' dtypes and shapes) to `g`. Each input
// is taken from `copy` (original value -> value in g); an initializer not there yet is added to g
// (named by `rename`); any other missing input is an error naming it. The node and its outputs are
// named by `rename` of the originals' names; `copy` receives the outputs.
inline StatusOr<ir::Node*> copyNodeInto(ir::Graph& g, const ir::Node& n, std::map<const ir::Value*, ir::Value*>* copy,
                                        const std::function<std::string(const std::string&)>& rename) {
  std::vector<ir::Value*> ins;
  for (const ir::Value* v : n.inputs()) {
    if (!v) {
      ins.push_back(nullptr);
      continue;
    }
    if (!copy->count(v)) {
      if (!v->isInitializer()) return internalError("'" + v->name() + "', read by " + n.describe() + ", is not available");
      (*copy)[v] = g.addInitializer(rename(v->name()), v->initializer());
    }
    ins.push_back(copy->at(v));
  }
  std::vector<std::string> outs;
  for (const ir::Value* v : n.outputs()) outs.push_back(v ? rename(v->name()) : "");
  ir::Node* c = g.addNode(n.opType(), ins, outs, rename(n.name()), nullptr, n.domain());
  for (const auto& [name, attr] : n.attributes()) c->setAttr(name, attr);
  for (size_t i = 0; i < n.outputs().size(); ++i)
    if (const ir::Value* v = n.output(i)) {
      c->output(i)->setDType(v->dtype());
      c->output(i)->setShape(v->shape());
      (*copy)[v] = c->output(i);
    }
  return c;
}

}  // namespace edgeopt::api
