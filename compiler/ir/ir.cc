#include "compiler/ir/ir.h"

#include <algorithm>
#include <cassert>
#include <sstream>
#include <unordered_set>

namespace edgeopt::ir {

std::string shapeToString(const Shape& s) {
  if (!s) return "[?]";
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < s->size(); ++i) {
    const Dim& d = (*s)[i];
    os << (i ? "," : "");
    if (d.isKnown()) os << d.value;
    else if (!d.symbol.empty()) os << d.symbol;
    else os << '?';
  }
  os << ']';
  return os.str();
}

std::optional<std::vector<int64_t>> staticDims(const Shape& s) {
  if (!s) return std::nullopt;
  std::vector<int64_t> out;
  for (const Dim& d : *s) {
    if (!d.isKnown()) return std::nullopt;
    out.push_back(d.value);
  }
  return out;
}

// ---- Node ----

std::string Node::describe() const { return "'" + name_ + "' (" + opType_ + ")"; }

std::string Node::qualifiedOpType() const {
  return domain_.empty() || domain_ == "ai.onnx" ? opType_ : domain_ + "." + opType_;
}

void Node::setInput(size_t i, Value* v) {
  EDGEOPT_CHECK(i < inputs_.size());
  if (Value* old = inputs_[i]) {
    auto& u = old->uses_;
    u.erase(std::find(u.begin(), u.end(), Use{this, i}));
  }
  inputs_[i] = v;
  if (v) v->uses_.push_back(Use{this, i});
}

void Node::addInput(Value* v) {
  inputs_.push_back(nullptr);
  setInput(inputs_.size() - 1, v);
}

const Attribute* Node::attr(const std::string& name) const {
  auto it = attrs_.find(name);
  return it == attrs_.end() ? nullptr : &it->second;
}

int64_t Node::attrInt(const std::string& name, int64_t dflt) const {
  const Attribute* a = attr(name);
  return a && a->kind() == Attribute::Kind::kInt ? a->i() : dflt;
}
float Node::attrFloat(const std::string& name, float dflt) const {
  const Attribute* a = attr(name);
  return a && a->kind() == Attribute::Kind::kFloat ? a->f() : dflt;
}
std::string Node::attrString(const std::string& name, const std::string& dflt) const {
  const Attribute* a = attr(name);
  return a && a->kind() == Attribute::Kind::kString ? a->s() : dflt;
}
std::vector<int64_t> Node::attrInts(const std::string& name, std::vector<int64_t> dflt) const {
  const Attribute* a = attr(name);
  return a && a->kind() == Attribute::Kind::kInts ? a->ints() : dflt;
}
std::vector<float> Node::attrFloats(const std::string& name, std::vector<float> dflt) const {
  const Attribute* a = attr(name);
  return a && a->kind() == Attribute::Kind::kFloats ? a->floats() : dflt;
}

// ---- Graph ----

Value* Graph::newValue(const std::string& name) {
  EDGEOPT_CHECK(!byName_.count(name));
  values_.push_back(std::make_unique<Value>());
  Value* v = values_.back().get();
  v->name_ = name;
  byName_[name] = v;
  return v;
}

std::string Graph::uniqueName(const std::string& base) {
  if (!byName_.count(base)) return base;
  std::string n;
  do n = base + "__" + std::to_string(++nameCounter_);
  while (byName_.count(n));
  return n;
}

Value* Graph::addInput(const std::string& name, DType dtype, Shape shape) {
  Value* v = newValue(uniqueName(name));
  v->dtype_ = dtype;
  v->shape_ = std::move(shape);
  v->isGraphInput_ = true;
  inputs_.push_back(v);
  return v;
}

Value* Graph::addInitializer(const std::string& name, Tensor data) {
  Value* v = newValue(uniqueName(name));
  v->dtype_ = data.dtype();
  std::vector<Dim> dims(data.dims().begin(), data.dims().end());
  v->shape_ = dims;
  v->initializer_ = std::move(data);
  return v;
}

Value* Graph::findValue(const std::string& name) const {
  auto it = byName_.find(name);
  return it == byName_.end() ? nullptr : it->second;
}

bool Graph::renameValue(Value* v, const std::string& name) {
  if (v->name_ == name) return true;
  if (byName_.count(name)) return false;
  byName_.erase(v->name_);
  v->name_ = name;
  byName_[name] = v;
  return true;
}

std::vector<Value*> Graph::initializers() const {
  std::vector<Value*> out;
  for (const auto& v : values_)
    if (v->isInitializer()) out.push_back(v.get());
  return out;
}

std::vector<Value*> Graph::values() const {
  std::vector<Value*> out;
  for (const auto& v : values_) out.push_back(v.get());
  return out;
}

Node* Graph::addNode(const std::string& opType, const std::vector<Value*>& inputs,
                     const std::vector<std::string>& outputNames, const std::string& name,
                     Node* before, const std::string& domain) {
  auto owned = std::make_unique<Node>();
  Node* n = owned.get();
  n->graph_ = this;
  n->opType_ = opType;
  n->domain_ = domain;
  n->name_ = name.empty() ? opType + "_" + std::to_string(nodeCounter_) : name;
  ++nodeCounter_;
  for (Value* v : inputs) n->addInput(v);
  for (size_t i = 0; i < outputNames.size(); ++i) {
    Value* out = newValue(uniqueName(outputNames[i].empty() ? n->name_ + "_out" : outputNames[i]));
    out->producer_ = n;
    out->producerIndex_ = i;
    n->outputs_.push_back(out);
  }
  auto pos = before ? before->self_ : nodes_.end();
  n->self_ = nodes_.insert(pos, std::move(owned));
  return n;
}

void Graph::removeNode(Node* n) {
  EDGEOPT_CHECK(n->graph_ == this);
  for (Value* out : n->outputs_) {
    EDGEOPT_CHECK(out->uses_.empty());
    EDGEOPT_CHECK(std::find(outputs_.begin(), outputs_.end(), out) == outputs_.end());
    out->producer_ = nullptr;
  }
  for (size_t i = 0; i < n->inputs_.size(); ++i) n->setInput(i, nullptr);
  std::vector<Value*> outs = n->outputs_;
  nodes_.erase(n->self_);
  // The outputs are now orphans: drop them so names can be reused.
  for (Value* out : outs) {
    byName_.erase(out->name_);
    values_.erase(std::find_if(values_.begin(), values_.end(),
                               [&](const auto& p) { return p.get() == out; }));
  }
}

void Graph::replaceAllUsesWith(Value* from, Value* to) {
  std::vector<Use> uses = from->uses_;
  for (const Use& u : uses) u.node->setInput(u.inputIndex, to);
  for (Value*& o : outputs_)
    if (o == from) o = to;
}

void Graph::removeUnusedValues() {
  std::unordered_set<const Value*> keep(outputs_.begin(), outputs_.end());
  keep.insert(inputs_.begin(), inputs_.end());
  for (auto it = values_.begin(); it != values_.end();) {
    Value* v = it->get();
    if (!v->producer_ && v->uses_.empty() && !keep.count(v)) {
      byName_.erase(v->name_);
      it = values_.erase(it);
    } else {
      ++it;
    }
  }
}

std::vector<Node*> Graph::nodes() const {
  std::vector<Node*> out;
  out.reserve(nodes_.size());
  for (const auto& n : nodes_) out.push_back(n.get());
  return out;
}

Status Graph::verify() const {
  std::unordered_set<const Value*> defined;
  std::unordered_set<std::string> names;
  for (const auto& v : values_) {
    if (!names.insert(v->name_).second)
      return internalError("value name '" + v->name_ + "' is defined twice");
    if (v->isGraphInput_ || v->isInitializer()) defined.insert(v.get());
  }
  for (const auto& n : nodes_) {
    for (size_t i = 0; i < n->inputs_.size(); ++i) {
      const Value* v = n->inputs_[i];
      if (!v) continue;
      if (!defined.count(v))
        return internalError("node " + n->describe() + " uses '" + v->name_ +
                             "' before it is defined (graph not in topological order or "
                             "value dangling)");
      const auto& u = v->uses_;
      if (std::find(u.begin(), u.end(), Use{n.get(), i}) == u.end())
        return internalError("use list of '" + v->name_ + "' misses node " + n->describe());
    }
    for (size_t i = 0; i < n->outputs_.size(); ++i) {
      const Value* out = n->outputs_[i];
      if (out->producer_ != n.get() || out->producerIndex_ != i)
        return internalError("output '" + out->name_ + "' of node " + n->describe() +
                             " does not point back at it");
      defined.insert(out);
    }
  }
  for (const auto& v : values_)
    for (const Use& u : v->uses_)
      if (u.inputIndex >= u.node->inputs_.size() || u.node->inputs_[u.inputIndex] != v.get())
        return internalError("use list of '" + v->name_ + "' names a node that does not use it");
  for (const Value* o : outputs_)
    if (!defined.count(o)) return internalError("graph output '" + o->name_ + "' is not defined");
  return Status::Ok();
}

const Value* initializerBehind(const Value* v) {
  for (int depth = 0; v && depth < 16; ++depth) {
    if (v->isInitializer()) return v;
    const Node* p = v->producer();
    if (!p || p->opType() != "Identity" || !p->domain().empty()) return nullptr;
    v = p->input(0);
  }
  return nullptr;
}

const Tensor* constantBehind(const Value* v) {
  if (const Value* init = initializerBehind(v)) return &init->initializer();
  const Node* p = v ? v->producer() : nullptr;
  if (p && p->opType() == "Constant" && p->domain().empty() && p->attr("value") &&
      p->attr("value")->kind() == Attribute::Kind::kTensor)
    return &p->attr("value")->t();
  return nullptr;
}

std::map<std::string, int64_t> opHistogram(const Graph& g) {
  std::map<std::string, int64_t> h;
  for (const Node* n : g.nodes()) ++h[n->qualifiedOpType()];
  return h;
}

int64_t Model::defaultOpset() const {
  for (const auto& o : opsets)
    if (o.domain.empty() || o.domain == "ai.onnx") return o.version;
  return 0;
}

Model cloneModel(const Model& model) {
  Model m;
  m.opsets = model.opsets;
  m.irVersion = model.irVersion;
  m.producerName = model.producerName;
  m.producerVersion = model.producerVersion;
  m.docString = model.docString;
  m.metadata = model.metadata;
  const Graph& g = *model.graph;
  Graph& c = *m.graph;
  c.setName(g.name());
  std::map<const Value*, Value*> copy;
  for (const Value* v : g.inputs()) copy[v] = c.addInput(v->name(), v->dtype(), v->shape());
  for (const Value* v : g.initializers())
    if (!copy.count(v)) copy[v] = c.addInitializer(v->name(), v->initializer());
  for (const Node* n : g.nodes()) {
    std::vector<Value*> ins;
    for (const Value* v : n->inputs()) ins.push_back(v ? copy.at(v) : nullptr);
    std::vector<std::string> outs;
    for (const Value* v : n->outputs()) outs.push_back(v ? v->name() : "");
    Node* nc = c.addNode(n->opType(), ins, outs, n->name(), nullptr, n->domain());
    for (const auto& [name, attr] : n->attributes()) nc->setAttr(name, attr);
    for (size_t i = 0; i < n->outputs().size(); ++i) {
      const Value* v = n->output(i);
      if (!v) continue;
      Value* o = nc->output(i);
      EDGEOPT_CHECK(o && o->name() == v->name());
      o->setDType(v->dtype());
      o->setShape(v->shape());
      copy[v] = o;
    }
  }
  for (const Value* v : g.outputs()) c.markOutput(copy.at(v));
  return m;
}

}  // namespace edgeopt::ir
