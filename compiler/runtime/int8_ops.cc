#include "compiler/runtime/int8_ops.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "compiler/ir/edgeopt_ops.h"

namespace edgeopt::runtime {
namespace {
namespace ref = kernels::ref;

Status invalid(const ir::Node& n, const std::string& why) { return invalidInput("node " + n.describe() + ": " + why); }

// Scale attribute `name`, which must be positive and finite.
StatusOr<float> scale(const ir::Node& n, const char* name) {
  const float s = n.attrFloat(name, 0);
  if (!(s > 0) || !std::isfinite(s)) return invalid(n, std::string(name) + " missing, not positive or not finite");
  return s;
}

int32_t zeroPoint(const ir::Node& n, const char* name) { return static_cast<int32_t>(n.attrInt(name, 0)); }

// A multiplier formed from the scales, or an error when it is not 0 or a normal float32.
StatusOr<ref::Requantization> multiplier(const ir::Node& n, float m) {
  if (!ref::isValidMultiplier(m)) return invalid(n, "requantization multiplier outside the normal float32 range");
  return ref::Requantization{m};
}

}  // namespace

Int8Storage int8StorageOf(const ir::Node& n) { return {n.attrInt("x_uint8", 0) == 1, n.attrInt("y_uint8", 0) == 1}; }

StatusOr<ref::QuantParams> int8OutputParamsOf(const ir::Node& n) {
  ref::QuantParams q;
  EDGEOPT_ASSIGN_OR_RETURN(const float ys, scale(n, "y_scale"));
  q.input_zero_point = zeroPoint(n, "x_zero_point");
  q.output_zero_point = zeroPoint(n, "y_zero_point");
  if (q.input_zero_point < -128 || q.input_zero_point > 127 || q.output_zero_point < -128 || q.output_zero_point > 127)
    return invalid(n, "zero point outside the int8 range");
  if (auto act = ir::fusedActivation(n)) {
    if (act->op == "Relu") {
      q.output_min = std::max(-128, q.output_zero_point);
    } else if (act->op == "Clip" && act->params.size() == 2) {
      q.output_min = ref::qs8_quantize(std::max(act->params[0], -3.0e38f), ys, q.output_zero_point);
      q.output_max = ref::qs8_quantize(std::min(act->params[1], 3.0e38f), ys, q.output_zero_point);
    } else {
      return unsupported("node " + n.describe() + ": int8 fused activation '" + act->op + "'");
    }
  }
  return q;
}

StatusOr<Int8OutputStage> int8OutputStageOf(const ir::Node& n, int64_t channels) {
  Int8OutputStage o;
  const float xs = n.attrFloat("x_scale", 0), ys = n.attrFloat("y_scale", 0);
  const auto ws = n.attrFloats("w_scales");
  if (!(xs > 0) || !(ys > 0) || !std::isfinite(xs) || !std::isfinite(ys) || static_cast<int64_t>(ws.size()) != channels)
    return invalid(n, "int8 scales missing or not matching " + std::to_string(channels) + " output channels");
  EDGEOPT_ASSIGN_OR_RETURN(o.q, int8OutputParamsOf(n));
  for (float w : ws) {
    if (!(w > 0) || !std::isfinite(w)) return invalid(n, "w_scales must be positive and finite");
    EDGEOPT_ASSIGN_OR_RETURN(auto r, multiplier(n, ref::convMultiplier(xs, w, ys)));
    o.requant.push_back(r);
  }
  return o;
}

StatusOr<QBinary> qBinaryOf(const ir::Node& n) {
  QBinary b;
  b.isAdd = n.opType() == "QAdd";
  EDGEOPT_ASSIGN_OR_RETURN(b.q, int8OutputParamsOf(n));
  EDGEOPT_ASSIGN_OR_RETURN(const float as, scale(n, "a_scale"));
  EDGEOPT_ASSIGN_OR_RETURN(const float bs, scale(n, "b_scale"));
  EDGEOPT_ASSIGN_OR_RETURN(const float ys, scale(n, "y_scale"));
  b.aZeroPoint = zeroPoint(n, "a_zero_point");
  b.bZeroPoint = zeroPoint(n, "b_zero_point");
  if (b.isAdd) {
    if (!ref::quantizeAddMultipliers(ref::ratioMultiplier(as, ys), ref::ratioMultiplier(bs, ys), &b.add))
      return invalid(n, "ratio of the input and output scales outside [2^-100, 2^100]");
  } else {
    EDGEOPT_ASSIGN_OR_RETURN(b.mul, multiplier(n, ref::convMultiplier(as, bs, ys)));
  }
  return b;
}

StatusOr<QAverage> qAverageOf(const ir::Node& n) {
  QAverage a;
  EDGEOPT_ASSIGN_OR_RETURN(a.q, int8OutputParamsOf(n));
  EDGEOPT_ASSIGN_OR_RETURN(a.inputScale, scale(n, "x_scale"));
  EDGEOPT_ASSIGN_OR_RETURN(a.outputScale, scale(n, "y_scale"));
  // The largest multiplier (count 1) bounds the others, which only shrink (towards 0, valid).
  EDGEOPT_RETURN_IF_ERROR(multiplier(n, ref::averageMultiplier(a.inputScale, a.outputScale, 1)).status());
  a.global = n.attrInt("global", 0) == 1;
  a.countIncludePad = n.attrInt("count_include_pad", 0) != 0;
  return a;
}

StatusOr<QRequantize> qRequantizeOf(const ir::Node& n) {
  QRequantize r;
  EDGEOPT_ASSIGN_OR_RETURN(r.q, int8OutputParamsOf(n));
  EDGEOPT_ASSIGN_OR_RETURN(r.inputScale, scale(n, "x_scale"));
  EDGEOPT_ASSIGN_OR_RETURN(r.outputScale, scale(n, "y_scale"));
  return r;
}

bool isDepthwise3x3(const ref::ConvParams& p) {
  return p.groups == p.in_channels && p.out_channels == p.in_channels && p.kernel[0] == 1 && p.kernel[1] == 3 &&
         p.kernel[2] == 3 && p.dilation[1] == 1 && p.dilation[2] == 1;
}

}  // namespace edgeopt::runtime
