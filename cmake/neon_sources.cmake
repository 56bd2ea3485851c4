# The one list of the sources an ARM NEON package is built from (paths relative to the folder
# that holds kernels/ and, in a package, runtime/), and the flags the SDOT kernels need.
# Used by the edgeopt build (which embeds these files into the emitter, targets/CMakeLists.txt),
# by the NEON kernel tests (tests/neon/CMakeLists.txt) and by every emitted package's
# CMakeLists.txt, which carries a copy of this file in cmake/.
set(EDGEOPT_NEON_KERNEL_SOURCES
    kernels/ref/quant.cc kernels/ref/pool.cc kernels/ref/resize.cc kernels/ref/gemm.cc kernels/ref/normalization.cc
    kernels/ref/conv.cc
    kernels/neon/requantize_neon.cc kernels/neon/gemm_pack.cc kernels/neon/gemm_neon.cc
    kernels/neon/gemm_neondot.cc kernels/neon/elementwise_neon.cc)
set(EDGEOPT_NEON_KERNEL_HEADERS
    kernels/ref/quant.h kernels/ref/conv.h kernels/ref/pool.h kernels/ref/resize.h kernels/ref/activation.h
    kernels/ref/gemm.h kernels/ref/normalization.h
    kernels/neon/requantize.h kernels/neon/gemm.h kernels/neon/gemm_tile.h kernels/neon/elementwise.h
    kernels/neon/mca.h)
# The ARMv8.2 dot-product kernels; they run only where the CPU reports the feature (getauxval).
set(EDGEOPT_NEON_DOTPROD_SOURCES kernels/neon/gemm_neondot.cc)
set(EDGEOPT_NEON_DOTPROD_FLAGS -march=armv8.2-a+dotprod)
# The int8 and float arithmetic is defined step by step (one IEEE-754 rounding per operation):
# no contraction of a multiply and an add into an FMA.
set(EDGEOPT_NEON_FLAGS -ffp-contract=off)

# Adds library NAME built from the sources under ROOT.
function(edgeopt_add_neon_kernels name root)
  list(TRANSFORM EDGEOPT_NEON_KERNEL_SOURCES PREPEND ${root}/ OUTPUT_VARIABLE sources)
  add_library(${name} STATIC ${sources} ${ARGN})
  target_include_directories(${name} PUBLIC ${root})
  target_compile_options(${name} PRIVATE ${EDGEOPT_NEON_FLAGS})
  foreach(f IN LISTS EDGEOPT_NEON_DOTPROD_SOURCES)
    set_source_files_properties(${root}/${f} PROPERTIES COMPILE_OPTIONS "${EDGEOPT_NEON_DOTPROD_FLAGS}")
  endforeach()
endfunction()
