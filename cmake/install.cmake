# Installs the edgeopt libraries, public headers and CLI, and a CMake package so that build
# systems can use `find_package(edgeopt)` and link `edgeopt::edgeopt`.
include(CMakePackageConfigHelpers)

set(EDGEOPT_LIBRARIES edgeopt_ir edgeopt_support edgeopt_onnx edgeopt_data edgeopt_runtime
    edgeopt_kernels_ref edgeopt_kernels_x86 edgeopt_pass edgeopt_passes edgeopt_quant edgeopt_train ${EDGEOPT_TARGET_LIBRARIES} edgeopt_targets edgeopt_api)

# The C++ API as one target: link it and include "api/edgeopt.h".
add_library(edgeopt_all INTERFACE)
target_link_libraries(edgeopt_all INTERFACE edgeopt_api)
set_target_properties(edgeopt_all PROPERTIES EXPORT_NAME edgeopt)
add_library(edgeopt::edgeopt ALIAS edgeopt_all)

install(TARGETS ${EDGEOPT_LIBRARIES} edgeopt_all EXPORT edgeoptTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/api ${PROJECT_SOURCE_DIR}/compiler ${PROJECT_SOURCE_DIR}/kernels
                  ${PROJECT_SOURCE_DIR}/passes ${PROJECT_SOURCE_DIR}/targets
        DESTINATION ${EDGEOPT_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")
install(EXPORT edgeoptTargets NAMESPACE edgeopt:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/edgeopt)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/edgeoptConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/edgeoptConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/edgeopt)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/edgeoptConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/edgeoptConfig.cmake ${PROJECT_BINARY_DIR}/edgeoptConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/edgeopt)
