#!/bin/bash
# Bit-exactness figures: each zoo model quantized (minmax, the bundled calibration images) and run
# on the whole Fashion-MNIST test set by the reference executor, the x86 target and the arm-neon
# target under qemu as Cortex-A76 (dot product) and Cortex-A53 (ARMv8.0); the outputs (the float
# logits after the final DequantizeLinear) are compared byte for byte with the reference's.
# Needs /tmp/fm_test_x.npy (see tools/peer/quantize_figures.sh). Prints one line per model.
cd "$(dirname "$0")/../.."
EDGEOPT=${EDGEOPT:-build/tools/edgeopt}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
SPEC=channels=gray,scale=1/255,mean=0.2860,std=0.3530
for m in resnet_fm mobilenet_v2_fm mlp_fm; do
  $EDGEOPT quantize tools/zoo/models/$m.onnx --calib calib_data/fashion_mnist_500 --preprocess $SPEC -o $OUT/$m.onnx > /dev/null
  $EDGEOPT run $OUT/$m.onnx -i /tmp/fm_test_x.npy -o $OUT/$m.ref.npy --target ref
  line="$m:"
  for t in x86 arm-neon:cortex-a76 arm-neon:cortex-a53; do
    target=${t%%:*} cpu=${t#*:}
    extra=(); [ "$target" != "$t" ] && extra=(--arm-cpu "$cpu")
    $EDGEOPT run $OUT/$m.onnx -i /tmp/fm_test_x.npy -o $OUT/$m.out.npy --target "$target" "${extra[@]}"
    if cmp -s $OUT/$m.ref.npy $OUT/$m.out.npy; then line="$line $t identical;"; else
      line="$line $t DIFFERS ($(cmp -l $OUT/$m.ref.npy $OUT/$m.out.npy | wc -l) bytes);"; fi
  done
  echo "$line (10000 images)"
done
