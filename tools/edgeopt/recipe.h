// `edgeopt compile --recipe FILE.toml`: compile's options kept in a file in the user's repository.
// Every key maps to one option of compile (the table is kRecipeKeys in recipe.cc, documented with
// an example in docs/edgeopt.example.toml); options given on the command line win over the
// recipe. An unknown key, a value of the wrong type or one the option refuses is an error naming
// the file, the line and the key. Relative paths in a recipe are taken from the working folder,
// as on the command line.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "api/edgeopt.h"

namespace edgeopt::cli {

// Applies `recipePath` to the parsed `compile` subcommand: each key's option that the command
// line did not give gets the recipe's value (validated and stored as if it had been given).
Status applyRecipe(CLI::App& compile, const std::string& recipePath);

}  // namespace edgeopt::cli
