//===- ModelBuilder.h - small models for the executor tests -----*- C++ -*-===//

#ifndef FSNN_TEST_UNIT_REFERENCE_MODELBUILDER_H
#define FSNN_TEST_UNIT_REFERENCE_MODELBUILDER_H

#include "runtime/model/Model.h"

#include <string>
#include <vector>

namespace fsnn::testing {

using namespace fsnn::model;

/// Builds models node by node with tensors given as values.
class ModelBuilder {
public:
  explicit ModelBuilder(const std::string &name,
                        TensorProto::DataType dtype = TensorProto::FLOAT64)
      : dtype(dtype) {
    model.set_format_version(kFormatVersion);
    model.mutable_graph()->set_name(name);
  }

  void input(const std::string &name, const std::vector<int64_t> &shape) {
    info(model.mutable_graph()->add_inputs(), name, shape);
  }
  void output(const std::string &name, bool counts = false) {
    ValueInfoProto *out = model.mutable_graph()->add_outputs();
    out->set_name(name);
    out->set_dtype(counts ? TensorProto::INT32 : dtype);
  }
  void tensor(const std::string &name, const std::vector<int64_t> &dims,
              const std::vector<double> &values) {
    TensorProto *t = model.mutable_graph()->add_initializers();
    t->set_name(name);
    for (int64_t d : dims)
      t->add_dims(d);
    t->set_dtype(dtype);
    for (double v : values)
      t->add_values(v);
  }
  static NodeProto *node(GraphProto &g, const std::string &op,
                         const std::string &name,
                         const std::vector<std::string> &inputs,
                         const std::string &output) {
    NodeProto *n = g.add_nodes();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto &i : inputs)
      n->add_inputs(i);
    n->add_outputs(output);
    return n;
  }
  NodeProto *node(const std::string &op, const std::string &name,
                  const std::vector<std::string> &inputs,
                  const std::string &output) {
    return node(*model.mutable_graph(), op, name, inputs, output);
  }
  static void ints(NodeProto *n, const std::string &name,
                   const std::vector<int64_t> &values) {
    AttributeProto *a = n->add_attributes();
    a->set_name(name);
    for (int64_t v : values)
      a->mutable_ints()->add_values(v);
  }
  /// A Conv2d or ConvTranspose2d node with square strides and padding;
  /// attributes equal to their defaults (stride 1, no padding) are omitted so
  /// that the defaults are exercised too.
  static NodeProto *conv(GraphProto &g, const std::string &op,
                         const std::string &name,
                         const std::vector<std::string> &inputs,
                         const std::string &output, int64_t stride, int64_t pad,
                         int64_t outputPadding = 0) {
    NodeProto *n = node(g, op, name, inputs, output);
    if (stride != 1)
      ints(n, "strides", {stride, stride});
    if (pad != 0)
      ints(n, "pads", {pad, pad});
    if (outputPadding != 0)
      ints(n, "output_padding", {outputPadding, outputPadding});
    return n;
  }
  static void f(NodeProto *n, const std::string &name, double value) {
    AttributeProto *a = n->add_attributes();
    a->set_name(name);
    a->set_f(value);
  }
  static void i(NodeProto *n, const std::string &name, int64_t value) {
    AttributeProto *a = n->add_attributes();
    a->set_name(name);
    a->set_i(value);
  }
  static void s(NodeProto *n, const std::string &name,
                const std::string &value) {
    AttributeProto *a = n->add_attributes();
    a->set_name(name);
    a->set_s(value);
  }

  /// Adds the SpikingFeedback node "snn" with outputs snn.rate<l> and
  /// snn.count<l>; returns the maps to fill: layers then feedback.
  std::vector<GraphProto *> feedback(const std::string &input, int numLayers,
                                     int64_t timeSteps) {
    snn = node("SpikingFeedback", "snn", {input}, "snn.rate1");
    snn->clear_outputs();
    for (int l = 1; l <= numLayers; ++l)
      snn->add_outputs("snn.rate" + std::to_string(l));
    for (int l = 1; l <= numLayers; ++l)
      snn->add_outputs("snn.count" + std::to_string(l));
    i(snn, "time_steps", timeSteps);
    AttributeProto *layers = snn->add_attributes();
    layers->set_name("layers");
    std::vector<GraphProto *> maps;
    for (int l = 0; l < numLayers; ++l)
      maps.push_back(layers->mutable_graphs()->add_values());
    AttributeProto *fb = snn->add_attributes();
    fb->set_name("feedback");
    maps.push_back(fb->mutable_graphs()->add_values());
    return maps;
  }

  /// Declares a map's input and output.
  void mapIO(GraphProto &map, const std::string &in,
             const std::vector<int64_t> &inShape, const std::string &out,
             const std::vector<int64_t> &outShape) {
    info(map.add_inputs(), in, inShape);
    info(map.add_outputs(), out, outShape);
  }

  ModelProto model;
  NodeProto *snn = nullptr;

private:
  void info(ValueInfoProto *v, const std::string &name,
            const std::vector<int64_t> &shape) {
    v->set_name(name);
    for (int64_t d : shape)
      v->add_shape(d);
    v->set_dtype(dtype);
  }
  TensorProto::DataType dtype;
};

} // namespace fsnn::testing

#endif // FSNN_TEST_UNIT_REFERENCE_MODELBUILDER_H
