#!/usr/bin/env bash
# Static efficiency of the NEON micro-kernels' inner loops without ARM hardware: each kernel file
# is compiled for aarch64 with its inner loop between LLVM-MCA-BEGIN/END markers
# (kernels/neon/mca.h, -DEDGEOPT_MCA), and llvm-mca-19 simulates the loop. Prints cycles per
# iteration, MACs per cycle and the share of the core's peak: a Cortex-A76 issues two 128-bit SDOT
# per cycle (32 int8 MACs), two FMLA (8 fp32 FMAs) or two SMLAL (16 int16 MACs).
# Two models are run: -mcpu=cortex-a76, which LLVM 19 still schedules with its Cortex-A57 tables
# (3-wide dispatch, A57 units: pessimistic), and -mcpu=neoverse-n1, LLVM's model of the Neoverse N1,
# the server version of the same Cortex-A76 core (the faithful one).
# Usage: tools/neon/mca.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in aarch64-linux-gnu-g++ llvm-mca-19; do
  command -v "$tool" >/dev/null || { echo "mca.sh: $tool not installed (apt-get install g++-aarch64-linux-gnu llvm-19)" >&2; exit 2; }
done
# kernel  source  march  MACs per loop iteration  peak MACs per cycle
kernels=(
  "qs8_gemm_4x8c4__neondot kernels/neon/gemm_neondot.cc armv8.2-a+dotprod 256 32"
  "qs8_gemm_4x8__neon kernels/neon/gemm_neon.cc armv8-a 128 8"
  "f32_gemm_4x8__neonfma kernels/neon/gemm_neon.cc armv8-a 128 8"
  "qs8_dwconv3x3_row__neon kernels/neon/elementwise_neon.cc armv8-a 72 8"
  "f32_dwconv3x3_row__neon kernels/neon/elementwise_neon.cc armv8-a 36 8"
)
printf "%-26s %9s | %-28s | %-28s\n" kernel MACs/iter "cortex-a76 (A57 tables)" "neoverse-n1 (A76 core)"
printf "%-26s %9s | %9s %9s %8s | %9s %9s %8s\n" "" "" cyc/iter MAC/cyc "% peak" cyc/iter MAC/cyc "% peak"
for entry in "${kernels[@]}"; do
  read -r name src march macs peak <<<"$entry"
  asm=$(aarch64-linux-gnu-g++ -std=c++17 -O2 -march="$march" -mtune=cortex-a76 -DEDGEOPT_MCA -I. -S -o - "$src")
  # Keep only this kernel's marked region: llvm-mca analyses every region in its input.
  region=$(awk -v n="$name" '
    $0 ~ "LLVM-MCA-BEGIN " n "$" {on=1}
    on {print}
    on && $0 ~ "LLVM-MCA-END" {on=0}' <<<"$asm")
  [ -n "$region" ] || { echo "mca.sh: no marked loop for $name in $src" >&2; exit 2; }
  row=$(printf "%-26s %9d" "$name" "$macs")
  for cpu in cortex-a76 neoverse-n1; do
    out=$(llvm-mca-19 -mtriple=aarch64 -mcpu="$cpu" -iterations=200 2>/dev/null <<<"$region")
    iters=$(awk '/^Iterations:/ {print $2; exit}' <<<"$out")
    cycles=$(awk '/^Total Cycles:/ {print $3; exit}' <<<"$out")
    row+=$(awk -v c="$cycles" -v i="$iters" -v m="$macs" -v p="$peak" 'BEGIN {
      cpi = c / i; mpc = m / cpi; printf " | %9.2f %9.2f %7.1f%%", cpi, mpc, 100 * mpc / p }')
  done
  echo "$row"
done
echo "(peak per cycle, two 128-bit NEON pipes: SDOT 32 int8 MACs; SMLAL/SMLAL2 of 4 lanes 8; FMLA 8 fp32 FMAs."
echo " The depthwise rows are the interior body for 8 (int8) / 4 (fp32) channels, nine taps; their"
echo " peak is the widening multiply-accumulate's, as a depthwise convolution has no reduction to dot over.)"
