// The one interface every target implements, and the one explicit registry of targets
// (api/target_registry.cc, the one file that knows every target). The API, the CLI and the report reach targets only through it: a new
// target is its folder, one registry line and its CMake library.
//
// A target says what it is (TargetInfo), writes its artifact for `compile` (emit), and loads a
// model into an Executable that runs it, can show a per-step profile and its memory, and measure
// the machine's peak rates where it knows them. The model handed to load() is prepared for execution: QDQ models lowered to edgeopt's
// int8 ops (passes/lower_qdq.h); fp32 models are as the caller has them (a target may clean up its
// own copy).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "compiler/ir/ir.h"
#include "compiler/ir/status.h"

namespace edgeopt::targets {

struct TargetInfo {
  std::string name;         // as the CLI spells it: "ref", "x86", "arm-neon"
  std::string description;  // one line for --help
  bool fp32 = false;        // runs fp32 models
  bool int8 = false;        // runs int8 (QDQ) models
  bool emulated = false;    // runs under an emulator here: accuracy is real, latency is not
  bool emulatesCpu = false;  // TargetOptions::cpu names the CPU it emulates
  // Channel counts that are a multiple of this run without partial tiles (pruning rounds kept
  // channels to it): x86 16 (one zmm of int32 / fp32 accumulators, oneDNN's 16-channel blocks),
  // arm-neon 8 (the NEON GEMM's 8-column panels), fpga-hls 8 (PE/SIMD foldings divide the counts).
  int64_t channelMultiple = 1;
  // Its executables take one float32 input and give one float32 output (arm-neon's packages):
  // callers that hand int8 tensors between models, or need several outputs, pack them as float.
  bool singleFloatInputOutput = false;
  // Takes TargetOptions::channelsLast: rank-4 inputs and outputs exchanged in NHWC order.
  bool channelsLastIo = false;
  // Loading a new input shape costs a plan (x86: oneDNN primitives and packed weights per shape):
  // callers whose batch sizes vary freely (the exit cascade) pad them to a few sizes.
  bool plansPerInputShape = false;
};

struct TargetOptions {
  int threads = 1;
  std::string cpu;                           // emulated targets: the CPU to emulate ("" = default)
  std::map<std::string, bool> switches;      // target-specific, e.g. x86 "own-depthwise" = false
  // Float values, by name, that Executable::runObserving shows (calibration): they stay
  // materialized, and the target runs the model as given (no clean-up of its own that could fuse
  // them away).
  std::set<std::string> observed;
  // A folder this target's emit() wrote for the same model (compile): a target whose executable
  // is built from its artifact builds that one instead of emitting it again. "" = none.
  std::string artifactDir;
  // Graph inputs and outputs of rank 4, by name, whose data is exchanged in NHWC order (the
  // tensor's dims still read N,C,H,W): a caller chaining models hands the target's own layout
  // from one to the next without two transposes. Only for targets with TargetInfo::channelsLastIo.
  std::set<std::string> channelsLast;
};

// One step of a per-step profile.
struct Step {
  std::string node;    // IR node name
  std::string op;      // qualified op type (or e.g. "Reorder")
  std::string kernel;  // what runs it
  int64_t macs = 0;    // multiply-accumulates, 0 when not a conv/gemm
  int64_t outputs = 0;  // elements written
};

struct MemoryFigures {
  int64_t arenaBytes = 0;   // intermediates
  int64_t weightBytes = 0;  // weights in the target's packed layouts
};

// Rates a target measures on this machine, per thread; 0 when unknown.
struct PeakRates {
  double int8Gops = 0, fp32Gflops = 0;
  double int8OutputsG = 0;  // int8 requantized outputs per second, G
};

class Executable {
 public:
  virtual ~Executable() = default;
  // Inputs in the order of the graph inputs; outputs in the order of the graph outputs.
  virtual StatusOr<std::vector<ir::Tensor>> run(const std::vector<ir::Tensor>& inputs) = 0;
  // The steps a run of these input dims goes through (empty: the target has no per-step view).
  virtual StatusOr<std::vector<Step>> steps(const std::vector<std::vector<int64_t>>& inputDims);
  // A run that also gives each step's wall time (in steps() order; empty without a per-step view).
  virtual StatusOr<std::vector<ir::Tensor>> runProfiled(const std::vector<ir::Tensor>& inputs,
                                                        std::vector<double>* stepSeconds);
  virtual StatusOr<MemoryFigures> memory(const std::vector<std::vector<int64_t>>& inputDims);
  // Shown each TargetOptions::observed float value as it is computed; its elements, in the
  // target's own order (e.g. NHWC). Order-free statistics (ranges, histograms) may use it.
  using Observer = std::function<void(const std::string& value, const float* data, int64_t count)>;
  // A run that shows the observed values; the default is kUnsupported (the caller uses another target).
  virtual StatusOr<std::vector<ir::Tensor>> runObserving(const std::vector<ir::Tensor>& inputs, const Observer& observer);
};

// One step's time on a target, measured (x86's per-step profile) or from a target's cost model.
struct LayerLatency {
  std::string node, op;
  double ms = 0;
};

// What a target writes into compile's output folder, and the figures that come with it.
struct Artifact {
  std::string folder;              // the subfolder written ("" = none)
  int64_t bytes = 0;               // its size on disk
  int64_t packedWeightBytes = 0;   // weights as the artifact stores them
  int64_t arenaBytes = 0;          // intermediates of one sample, when the artifact plans them
  double estimatedLatencyMs = -1;  // >= 0: a cost-model latency, for targets not timed here (emulated)
  std::vector<LayerLatency> estimatedLayers;  // that estimate per step, where the cost model has one
  std::string note;                // how those figures were obtained
  // Hardware targets (fpga-hls): the estimated resources against the chosen part's.
  struct Resource {
    std::string name;  // "DSP", "BRAM18", "LUT", "FF"
    int64_t estimate = 0, capacity = 0;
  };
  struct HardwareEstimate {
    std::string part;
    double clockMhz = 0;
    int64_t cyclesPerFrame = 0;  // initiation interval
    int64_t latencyCycles = 0;   // upper bound
    std::vector<Resource> resources;
    bool fits = true;
  };
  std::optional<HardwareEstimate> hardware;
};

// The models an artifact is made from, prepared for execution (the int8 one lowered for this
// target, see Target::runsInt8); int8 is null without quantization.
struct ArtifactInputs {
  const ir::Model* fp32 = nullptr;
  const ir::Model* int8 = nullptr;
  // The target's settings for this artifact (compile --target-setting TARGET.KEY=VALUE); every key
  // is one of Target::settings(), checked by the caller; the target checks the values.
  std::map<std::string, std::string> settings;
};

// A setting a target's emit() takes, for --help and for checking keys.
struct SettingInfo {
  std::string key, defaultValue, description;
};

class Target {
 public:
  virtual ~Target() = default;
  virtual const TargetInfo& info() const = 0;
  // Whether what load() needs is installed here (cross compilers, emulators); the reason if not.
  virtual Status available() const { return Status::Ok(); }
  // Capability: whether the target runs `node` in int8 when its operands and result are quantized.
  // `node` is the float op of a group that has an int8 form (Conv, Gemm, MatMul, Add, Mul, Concat,
  // pooling, data movement; see passes/lower_qdq.h), asked before quantization (quantize leaves in
  // float what no chosen target runs in int8) and when a QDQ model is lowered for this target
  // (a declined group keeps its float QDQ form there). The default: every int8 form.
  virtual bool runsInt8(const ir::Node& node) const {
    (void)node;
    return info().int8;
  }
  // The settings emit() takes (ArtifactInputs::settings); none by default.
  virtual std::vector<SettingInfo> settings() const { return {}; }
  // Writes the target's artifact into outDir/<Artifact::folder>; the default writes nothing.
  virtual StatusOr<Artifact> emit(const ArtifactInputs& models, const std::string& outDir) const {
    (void)models;
    (void)outDir;
    return Artifact{};
  }
  // Checks that every node can run (one error listing all) and gives the executable, which owns
  // the model (callers that keep theirs pass ir::cloneModel).
  virtual StatusOr<std::unique_ptr<Executable>> load(ir::Model prepared, const TargetOptions& options) const = 0;
  virtual PeakRates measurePeaks(double seconds) const { (void)seconds; return {}; }
};

// Every target, in the order --help lists them.
const std::vector<const Target*>& registry();
// The target called `name`; the error lists the available names.
StatusOr<const Target*> find(const std::string& name);
// "ref, x86, arm-neon"
std::string names();

}  // namespace edgeopt::targets
