# Cross-compiling for 64-bit ARM Linux with Debian's g++-aarch64-linux-gnu; binaries run on an
# aarch64 device or under Debian's qemu-user (qemu-aarch64, set as the emulator for ctest; pick the
# CPU model with the QEMU_CPU environment variable, e.g. cortex-a76 for dotprod, cortex-a53 without).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
find_program(EDGEOPT_QEMU_AARCH64 qemu-aarch64)
if(EDGEOPT_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${EDGEOPT_QEMU_AARCH64} -L /usr/aarch64-linux-gnu)
endif()
