#include "tools/edgeopt/recipe.h"

#include <sys/stat.h>

#include <cstdio>
#include <map>
#include <set>
#include <toml.hpp>
#include <vector>

namespace edgeopt::cli {
namespace {

// Recipe key ("section.key", or "key" at the top) -> compile's option. `list`: the option takes
// each element of an array; otherwise an array is joined with commas (targets).
struct RecipeKey {
  const char* key;
  const char* option;
  bool list;
};
constexpr RecipeKey kRecipeKeys[] = {
    {"model", "MODEL", false},
    {"output", "--output", false},
    {"targets", "--targets", false},
    {"shape", "--shape", true},
    {"threads", "--threads", false},
    {"iters", "--iters", false},
    {"batch", "--batch", false},
    {"quiet", "--quiet", false},
    {"calibration.data", "--calib", false},
    {"calibration.preprocess", "--preprocess", false},
    {"calibration.limit", "--limit", false},
    {"calibration.calibrator", "--calibrator", false},
    {"calibration.attribution-samples", "--attribution-samples", false},
    {"evaluation.data", "--eval", false},
    {"evaluation.labels", "--labels", false},
    {"evaluation.preprocess", "--eval-preprocess", false},
    {"evaluation.skip", "--eval-skip", false},
    {"evaluation.limit", "--eval-limit", false},
    {"prune.macs", "--prune-macs", false},
    {"prune.unstructured", "--prune-unstructured", false},
    {"prune.round", "--prune-round", false},
    {"prune.max-ratio", "--prune-max-ratio", false},
    {"train.data", "--train", false},
    {"train.labels", "--train-labels", false},
    {"train.preprocess", "--train-preprocess", false},
    {"train.limit", "--train-limit", false},
    {"finetune.epochs", "--finetune-epochs", false},
    {"finetune.batch", "--finetune-batch", false},
    {"finetune.lr", "--finetune-lr", false},
    {"finetune.held-out", "--finetune-held-out", false},
    {"finetune.hook", "--finetune-hook", false},
    {"finetune.hook-timeout", "--finetune-hook-timeout", false},
    {"exits.enabled", "--exits", false},
    {"exits.points", "--exit-points", false},
    {"exits.budget", "--exit-budget", false},
    {"exits.max-average-macs", "--exit-max-average-macs", false},
    {"exits.epochs", "--exit-epochs", false},
    {"exits.confidence", "--exit-confidence", false},
    {"budgets.require", "--budget", true},
    {"budgets.junit", "--junit", false},
};

std::string knownKeys() {
  std::string s;
  for (const auto& k : kRecipeKeys) s += (s.empty() ? "" : ", ") + std::string(k.key);
  return s + ", target-settings.TARGET.KEY";
}

// A scalar as the command line would spell it; false when it is not a scalar.
bool scalarText(const toml::value& v, std::string* out) {
  if (v.is_string()) *out = v.as_string().str;
  else if (v.is_integer()) *out = std::to_string(v.as_integer());
  else if (v.is_floating()) {
    char b[64];
    std::snprintf(b, sizeof b, "%.17g", v.as_floating());
    *out = b;
  } else if (v.is_boolean()) *out = v.as_boolean() ? "true" : "false";
  else return false;
  return true;
}

class Applier {
 public:
  Applier(CLI::App& compile, std::string path) : compile_(compile), path_(std::move(path)) {}

  Status where(const toml::value& v, const std::string& key, const std::string& why) const {
    return invalidInput(path_ + ":" + std::to_string(v.location().line()) + ": '" + key + "': " + why);
  }

  // The option's values from the recipe unless the command line gave it.
  Status apply(const std::string& key, const toml::value& v) {
    const RecipeKey* known = nullptr;
    for (const auto& k : kRecipeKeys)
      if (key == k.key) known = &k;
    if (!known) return where(v, key, "unknown key (known: " + knownKeys() + ")");
    std::vector<std::string> values;
    std::string text;
    if (v.is_array()) {
      for (const auto& item : v.as_array()) {
        if (!scalarText(item, &text)) return where(v, key, "expects scalars in its array");
        values.push_back(text);
      }
      if (!known->list) {
        std::string joined;
        for (const auto& s : values) joined += (joined.empty() ? "" : ",") + s;
        values = {joined};
      }
    } else if (scalarText(v, &text)) {
      values.push_back(text);
    } else {
      return where(v, key, "expects a value, not a table");
    }
    return set(known->option, key, v, values);
  }

  Status set(const std::string& optionName, const std::string& key, const toml::value& v, const std::vector<std::string>& values) {
    CLI::Option* option = compile_.get_option_no_throw(optionName);
    if (!option) return where(v, key, "maps to no option of compile (a bug in edgeopt)");
    if (option->count() > 0 && !fromRecipe_.count(option)) return Status::Ok();  // the command line wins
    fromRecipe_.insert(option);
    try {
      for (const auto& s : values) option->add_result(s);
      option->run_callback();
    } catch (const CLI::Error& e) {
      return where(v, key, e.what());
    }
    return Status::Ok();
  }

  Status applyTable(const toml::value& table, const std::string& prefix) {
    for (const auto& [name, v] : table.as_table()) {
      const std::string key = prefix.empty() ? name : prefix + "." + name;
      if (key == "target-settings") {
        if (!v.is_table()) return where(v, key, "expects a table of [target-settings.TARGET] tables");
        for (const auto& [target, settings] : v.as_table()) {
          if (!settings.is_table()) return where(settings, key + "." + target, "expects a table of KEY = VALUE");
          for (const auto& [setting, value] : settings.as_table()) {
            std::string text;
            const std::string full = key + "." + target + "." + setting;
            if (!scalarText(value, &text)) return where(value, full, "expects a scalar");
            EDGEOPT_RETURN_IF_ERROR(set("--target-setting", full, value, {target + "." + setting + "=" + text}));
          }
        }
      } else if (v.is_table() && prefix.empty()) {
        EDGEOPT_RETURN_IF_ERROR(applyTable(v, key));
      } else {
        EDGEOPT_RETURN_IF_ERROR(apply(key, v));
      }
    }
    return Status::Ok();
  }

 private:
  CLI::App& compile_;
  std::string path_;
  std::set<CLI::Option*> fromRecipe_;  // options this recipe set (arrays add to them)
};

}  // namespace

Status applyRecipe(CLI::App& compile, const std::string& recipePath) {
  struct stat st {};
  if (::stat(recipePath.c_str(), &st) != 0) return invalidInput(recipePath + ": no such recipe file");
  if (!S_ISREG(st.st_mode)) return invalidInput(recipePath + ": not a regular file");
  if (st.st_size > (1 << 20)) return invalidInput(recipePath + ": larger than 1 MB; not a recipe");
  toml::value root;
  try {
    root = toml::parse(recipePath);
  } catch (const toml::syntax_error& e) {
    std::string first = e.what();
    first = first.substr(0, first.find('\n'));
    if (first.rfind("[error] ", 0) == 0) first = first.substr(8);
    return invalidInput(recipePath + ":" + std::to_string(e.location().line()) + ": not valid TOML: " + first);
  } catch (const std::exception& e) {
    std::string first = e.what();
    return invalidInput(recipePath + ": cannot read: " + first.substr(0, first.find('\n')));
  }
  Applier applier(compile, recipePath);
  return applier.applyTable(root, "");
}

}  // namespace edgeopt::cli
