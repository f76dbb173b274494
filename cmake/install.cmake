# Install rules (included from the top-level CMakeLists.txt when
# KNOWHERE_INSTALL is ON): the headers, the libraries, a pkg-config file and
# a CMake package, so that an installed prefix serves
#   pkg-config --cflags --libs knowhere_rs
#   find_package(knowhere_rs CONFIG REQUIRED)  ->  knowhere_rs::knowhere_rs
include(CMakePackageConfigHelpers)

set(KNOWHERE_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/knowhere_rs")

install(FILES knowhere_rs.h include/knowhere_rs.hpp
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}" COMPONENT development)
install(TARGETS ${KNOWHERE_INSTALL_TARGETS} EXPORT knowhere_rs_targets
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT runtime
          NAMELINK_COMPONENT development
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT development
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT runtime
  INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(EXPORT knowhere_rs_targets NAMESPACE knowhere_rs::
        FILE knowhere_rsTargets.cmake DESTINATION "${KNOWHERE_CMAKE_DIR}"
        COMPONENT development)

configure_package_config_file(cmake/knowhere_rsConfig.cmake.in
  "${PROJECT_BINARY_DIR}/knowhere_rsConfig.cmake"
  INSTALL_DESTINATION "${KNOWHERE_CMAKE_DIR}")
# Minor versions add to the API; a new major version (or ABI) may change it.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/knowhere_rsConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/knowhere_rsConfig.cmake"
              "${PROJECT_BINARY_DIR}/knowhere_rsConfigVersion.cmake"
        DESTINATION "${KNOWHERE_CMAKE_DIR}" COMPONENT development)

# The .pc file finds its prefix from its own place (${pcfiledir}), so a
# prefix chosen at install time (cmake --install --prefix P) or moved later
# still works.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(KNOWHERE_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(KNOWHERE_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
  set(KNOWHERE_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
else()
  file(RELATIVE_PATH pc_to_prefix "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
  string(REGEX REPLACE "/$" "" pc_to_prefix "${pc_to_prefix}")
  set(KNOWHERE_PC_PREFIX "\${pcfiledir}/${pc_to_prefix}")
  set(KNOWHERE_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(KNOWHERE_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(cmake/knowhere_rs.pc.in "${PROJECT_BINARY_DIR}/knowhere_rs.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/knowhere_rs.pc"
        DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig" COMPONENT development)
