#include "compiler/onnx/proto_edit.h"

namespace edgeopt::onnx_io {

std::optional<int64_t> intScalar(const onnx::TensorProto& t) {
  const auto type = static_cast<ir::DType>(t.data_type());
  if (type != ir::DType::kBool && type != ir::DType::kInt32 && type != ir::DType::kInt64) return std::nullopt;
  auto tensor = tensorFromProto(t);
  if (!tensor.ok() || tensor->numel() != 1) return std::nullopt;
  return tensor->getAsInt64(0);
}

const onnx::AttributeProto* findAttr(const onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

void removeAttr(onnx::NodeProto& n, const std::string& name) {
  auto* attrs = n.mutable_attribute();
  for (int i = 0; i < attrs->size(); ++i)
    if (attrs->Get(i).name() == name) {
      attrs->DeleteSubrange(i, 1);
      return;
    }
}

void setIntAttr(onnx::NodeProto& n, const std::string& name, int64_t value) {
  removeAttr(n, name);
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

void setStringAttr(onnx::NodeProto& n, const std::string& name, const std::string& value) {
  removeAttr(n, name);
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(value);
}

void walkGraphs(onnx::GraphProto& g, const std::function<void(onnx::GraphProto&)>& fn) {
  fn(g);
  for (auto& n : *g.mutable_node())
    for (auto& a : *n.mutable_attribute()) {
      if (a.has_g()) walkGraphs(*a.mutable_g(), fn);
      for (auto& sub : *a.mutable_graphs()) walkGraphs(sub, fn);
    }
}

NameSet::NameSet(onnx::GraphProto& root) {
  walkGraphs(root, [&](onnx::GraphProto& g) {
    for (const auto& t : g.initializer()) names_.insert(t.name());
    for (const auto& v : g.input()) names_.insert(v.name());
    for (const auto& v : g.value_info()) names_.insert(v.name());
    for (const auto& n : g.node()) {
      names_.insert(n.name());
      for (const auto& o : n.output()) names_.insert(o);
    }
  });
}

std::string NameSet::fresh(const std::string& base) {
  std::string name = base;
  for (int i = 1; !names_.insert(name).second; ++i) name = base + "_" + std::to_string(i);
  return name;
}

void addInt64Initializer(onnx::GraphProto& g, const std::string& name, const std::vector<int64_t>& values, bool scalar) {
  onnx::TensorProto* t = g.add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  if (!scalar) t->add_dims(static_cast<int64_t>(values.size()));
  for (int64_t v : values) t->add_int64_data(v);
}

}  // namespace edgeopt::onnx_io
