#!/bin/bash
# int8 figures: each zoo model x calibrator, edgeopt int8 top-1 on the full Fashion-MNIST test
# set and ORT top-1 agreement. Needs /tmp/fm_test_x.npy and /tmp/fm_test_y.npy: the test set
# preprocessed (pixel/255 - 0.2860)/0.3530 as N x 1 x 28 x 28 float32 and int64 labels.
cd "$(dirname "$0")/../.."
EDGEOPT=${EDGEOPT:-build/tools/edgeopt}  # another build (e.g. an older commit's) to compare
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
SPEC=channels=gray,scale=1/255,mean=0.2860,std=0.3530
for m in resnet_fm mobilenet_v2_fm mlp_fm; do
  for c in minmax percentile entropy mse; do
    $EDGEOPT quantize tools/zoo/models/$m.onnx --calib calib_data/fashion_mnist_500 --preprocess $SPEC --calibrator $c -o $OUT/q_${m}_$c.onnx > /dev/null || echo "quantize failed $m $c"
    acc=$($EDGEOPT eval $OUT/q_${m}_$c.onnx --data /tmp/fm_test_x.npy --labels /tmp/fm_test_y.npy --quiet --predictions $OUT/q_${m}_$c.pred.npy | sed -n 2p)
    ort=$(node tools/peer/ort_predict.js $OUT/q_${m}_$c.onnx /tmp/fm_test_x.npy $OUT/q_${m}_$c.ort.npy)
    agree=$(/usr/bin/python3 -c "import numpy as np; a=np.load('$OUT/q_${m}_$c.ort.npy'); b=np.load('$OUT/q_${m}_$c.pred.npy'); y=np.load('/tmp/fm_test_y.npy'); print('ort_top1 %d/10000 agreement %.4f (%d differ)' % ((a==y).sum(), (a==b).mean(), (a!=b).sum()))")
    echo "$m $c | edgeopt int8 $acc | $agree"
  done
done
