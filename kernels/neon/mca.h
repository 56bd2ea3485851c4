// Marks a micro-kernel's inner loop for llvm-mca (tools/neon/mca.sh compiles with EDGEOPT_MCA);
// nothing in normal builds.
#pragma once

#ifdef EDGEOPT_MCA
#define EDGEOPT_MCA_BEGIN(name) __asm__ volatile("// LLVM-MCA-BEGIN " name)
#define EDGEOPT_MCA_END() __asm__ volatile("// LLVM-MCA-END")
#else
#define EDGEOPT_MCA_BEGIN(name)
#define EDGEOPT_MCA_END()
#endif
