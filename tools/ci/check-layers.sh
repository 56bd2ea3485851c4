#!/usr/bin/env bash
# Checks the include direction described in ARCHITECTURE.md. Run from the project root.
# The project's copy of ../shared/tools/check-layers.sh, with rules of its own:
#   - api/target_registry.cc is the one place that includes every target (the explicit registry);
#   - the rest of the API reaches a target only through targets/target.h, never through a
#     target's own headers, and reaches kernels only through a target;
#   - the CLI (tools/edgeopt) includes the API only (api/*, and targets/target.h for names).
# Prints one line per include that runs against the direction; exits 1 if there is any.
set -u
root=${1:-.}
cd "$root" || exit 2
bad=0
say() { echo "layering: $1 includes \"$2\" ($3)"; bad=1; }
while IFS= read -r f; do
  while IFS= read -r inc; do
    case "$f" in
      compiler/ir/*)
        case "$inc" in compiler/ir/*|ir/*) ;; compiler/*|passes/*|targets/*|kernels/*|tools/*) say "$f" "$inc" "the IR depends on the standard library only";; esac ;;
      kernels/*)
        case "$inc" in compiler/*|passes/*|targets/*|tools/*) say "$f" "$inc" "kernels are leaves";; esac
        k=${f#kernels/}; k=${k%%/*}
        case "$inc" in kernels/ref/*|kernels/common*|kernels/"$k"/*) ;; kernels/*) [ "$k" = ref ] && say "$f" "$inc" "the reference depends on no other kernel";; esac ;;
      passes/*)
        case "$inc" in targets/*) say "$f" "$inc" "passes are target-independent";; kernels/ref/*) ;; kernels/*) say "$f" "$inc" "passes use no target's kernels";; tools/*) say "$f" "$inc" "nothing below the CLI includes it";; esac ;;
      api/target_registry.cc)
        case "$inc" in tools/*|kernels/*) say "$f" "$inc" "the registry includes targets, not kernels or the CLI";; esac ;;
      tools/edgeopt/*)
        case "$inc" in api/*|targets/target.h) ;; compiler/*|passes/*|targets/*|kernels/*) say "$f" "$inc" "the CLI uses the public API only";; esac ;;
      targets/*)
        t=${f#targets/}; t=${t%%/*}
        case "$inc" in targets/"$t"/*|targets/common*|targets/target*) ;; targets/*) say "$f" "$inc" "a target never includes another target";; tools/*) say "$f" "$inc" "nothing below the CLI includes it";; esac ;;
      compiler/api/*|api/*)
        case "$inc" in tools/*) say "$f" "$inc" "nothing below the CLI includes it";; kernels/*) say "$f" "$inc" "the API reaches kernels only through a target";;
          targets/target.h) ;; targets/*) say "$f" "$inc" "the API reaches targets only through targets/target.h";; esac ;;
      compiler/*)
        case "$inc" in tools/*) say "$f" "$inc" "nothing below the CLI includes it";;
          compiler/api/*|api/*|passes/*|targets/*) say "$f" "$inc" "the compiler core knows no API, pass or target";; esac ;;
    esac
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]\([^">]*\)[">].*/\1/p' "$f")
done < <(git ls-files -- 'compiler/*' 'api/*' 'passes/*' 'kernels/*' 'targets/*' 'tools/edgeopt/*' 2>/dev/null | grep -E '\.(h|hh|hpp|c|cc|cpp|cxx|inc)$')
exit $bad
