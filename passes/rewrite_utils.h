// Helpers shared by the rewrite passes: reading constants, checking uses, and replacing a
// node's output while keeping graph output names stable.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "compiler/ir/ir.h"

namespace edgeopt::passes {

// The constant data behind a value: an initializer, or the tensor of a Constant node's `value`.
const ir::Tensor* constantOf(const ir::Value* v);
// A constant holding exactly one element, as double.
std::optional<double> scalarConstant(const ir::Value* v);
// A Clip node's bounds when they are constant (an absent bound is -/+infinity), else nullopt.
std::optional<std::pair<double, double>> clipBounds(const ir::Node& clip);
// All elements of an integer constant (int32/int64), e.g. axes or shape inputs.
std::optional<std::vector<int64_t>> intsConstant(const ir::Value* v);

bool isGraphOutput(const ir::Graph& g, const ir::Value* v);
// True when v feeds exactly one node input and is not a graph output.
bool hasSingleUse(const ir::Graph& g, const ir::Value* v);
// The producer of v when it is a default-domain node of type `op`.
ir::Node* producerOf(const ir::Value* v, const char* op);
// For a two-input node, the input that is not `one` (nullptr if neither input is `one`).
ir::Value* otherInput(const ir::Node& n, const ir::Value* one);
bool nearlyEqual(double a, double b, double tolerance = 1e-6);

// Makes every consumer of `old` (a node output) read `replacement` instead, removes the node
// that produced `old` if none of its outputs is used any more, and keeps the graph's output
// names: when `old` was a graph output, `replacement` takes over its name (possible when
// `replacement` is a node output that is not itself a graph output). With takeName,
// `replacement` also takes `old`'s name when `old` is not a graph output — for rewrites that
// absorb a node (fusions), so that export -> import -> the same rewrite gives the same names.
// Returns false, changing nothing, when the names cannot be kept.
bool replaceOutput(ir::Graph& g, ir::Value* old, ir::Value* replacement, bool takeName = false);

// Puts the output of `replacement` — a node the caller just inserted before `root` — in place of
// root's output: the output gets root's output dtype, shape and name, consumers move over, and
// root and the pattern nodes only it used are removed. When root's output cannot be replaced,
// removes `replacement` and returns false.
bool replacePattern(ir::Graph& g, ir::Node& root, ir::Node* replacement);

// Removes nodes whose outputs are all unused and not graph outputs, latest first; returns how
// many were removed.
size_t removeDeadNodes(ir::Graph& g);

// Removes the producers of `seeds` that no longer have a used output, then their producers in
// turn: the leftovers of a pattern after its root was replaced. Other dead nodes stay.
void removeIfDead(ir::Graph& g, std::vector<ir::Value*> seeds);

// A fresh float32 initializer.
ir::Value* addFloatInitializer(ir::Graph& g, const std::string& name, std::vector<int64_t> dims,
                               const std::vector<float>& values);

}  // namespace edgeopt::passes
