#!/bin/sh
# A misbehaving fine-tune hook for the tests of `edgeopt finetune --hook` (tests/unit/cli_test.cc):
#   fake_hook.sh MODE JOB   with MODE fail | hang | noresult | changed | teacher
mode=$1 job=$2
case "$mode" in
  fail) echo "fake_hook: out of memory on the GPU" >&2; exit 3 ;;
  hang) echo "$$" > "$job/../fake_hook.pid"; sleep 1000 ;;
  noresult) exit 0 ;;
  changed) cp "$job/teacher.onnx" "$job/student_out.onnx" ;;
  teacher) cp "$job/student.onnx" "$job/student_out.onnx" ;;
esac
teacher=0.9; [ "$mode" = teacher ] && teacher=0.1
printf '{"schema": "edgeopt.finetune-result/1", "teacher_held_out_top1": %s, "student_held_out_top1": 0.5, "epochs": []}\n' \
  "$teacher" > "$job/result.json"
