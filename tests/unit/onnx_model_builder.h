// Test helper: builds small ONNX ModelProtos in code (bad-input fixtures, importer tests).
#pragma once

#include <onnx/onnx_pb.h>

#include <fstream>
#include <string>
#include <vector>

namespace edgeopt::testing {

class OnnxModelBuilder {
 public:
  explicit OnnxModelBuilder(int64_t opset = 17) {
    model_.set_ir_version(8);
    model_.set_producer_name("edgeopt-test");
    auto* o = model_.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    model_.mutable_graph()->set_name("test");
  }

  OnnxModelBuilder& input(const std::string& name, std::vector<int64_t> dims,
                          int32_t elemType = onnx::TensorProto::FLOAT) {
    setType(model_.mutable_graph()->add_input(), name, dims, elemType);
    return *this;
  }
  OnnxModelBuilder& output(const std::string& name, std::vector<int64_t> dims,
                           int32_t elemType = onnx::TensorProto::FLOAT) {
    setType(model_.mutable_graph()->add_output(), name, dims, elemType);
    return *this;
  }
  OnnxModelBuilder& initializer(const std::string& name, std::vector<int64_t> dims,
                                const std::vector<float>& values) {
    auto* t = model_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
    return *this;
  }
  OnnxModelBuilder& int64Initializer(const std::string& name, const std::vector<int64_t>& values) {
    auto* t = model_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(static_cast<int64_t>(values.size()));
    for (int64_t v : values) t->add_int64_data(v);
    return *this;
  }
  // Initializer whose data lives in `location` (relative to the model file) at offset 0.
  OnnxModelBuilder& externalInitializer(const std::string& name, std::vector<int64_t> dims,
                                        const std::string& location, int64_t length, int64_t offset = -1) {
    auto* t = model_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    t->set_data_location(onnx::TensorProto::EXTERNAL);
    auto* kv = t->add_external_data();
    kv->set_key("location");
    kv->set_value(location);
    kv = t->add_external_data();
    kv->set_key("length");
    kv->set_value(std::to_string(length));
    if (offset >= 0) {
      kv = t->add_external_data();
      kv->set_key("offset");
      kv->set_value(std::to_string(offset));
    }
    return *this;
  }
  onnx::NodeProto* node(const std::string& op, std::vector<std::string> ins,
                        std::vector<std::string> outs, const std::string& name = "",
                        const std::string& domain = "") {
    auto* n = model_.mutable_graph()->add_node();
    n->set_op_type(op);
    n->set_name(name.empty() ? op + std::to_string(model_.graph().node_size()) : name);
    if (!domain.empty()) n->set_domain(domain);
    for (auto& i : ins) n->add_input(i);
    for (auto& o : outs) n->add_output(o);
    return n;
  }
  OnnxModelBuilder& opset(const std::string& domain, int64_t version) {
    auto* o = model_.add_opset_import();
    o->set_domain(domain);
    o->set_version(version);
    return *this;
  }

  onnx::ModelProto& proto() { return model_; }
  std::string bytes() const { return model_.SerializeAsString(); }
  void save(const std::string& path) const {
    std::ofstream(path, std::ios::binary) << bytes();
  }

 private:
  static void setType(onnx::ValueInfoProto* vi, const std::string& name,
                      const std::vector<int64_t>& dims, int32_t elemType) {
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elemType);
    auto* shape = tt->mutable_shape();
    for (size_t i = 0; i < dims.size(); ++i) {  // -1: symbolic, "batch" first, then "d1", "d2", ...
      auto* dim = shape->add_dim();
      if (dims[i] >= 0) dim->set_dim_value(dims[i]);
      else dim->set_dim_param(i == 0 ? "batch" : "d" + std::to_string(i));
    }
  }
  onnx::ModelProto model_;
};

inline void addIntsAttr(onnx::NodeProto* n, const std::string& name, std::vector<int64_t> v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

inline void addIntAttr(onnx::NodeProto* n, const std::string& name, int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

inline void addFloatAttr(onnx::NodeProto* n, const std::string& name, float v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}

inline void addFloatsAttr(onnx::NodeProto* n, const std::string& name, std::vector<float> v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOATS);
  for (float x : v) a->add_floats(x);
}

inline void addStringAttr(onnx::NodeProto* n, const std::string& name, const std::string& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}

}  // namespace edgeopt::testing
