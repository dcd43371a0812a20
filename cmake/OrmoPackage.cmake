# The installed package: `find_package(ormo)` in a host project gives the
# targets ormo::base, ormo::optim, ormo::data, ormo::model, ormo::config and
# ormo::actors with their include paths, flags and dependencies.
include(CMakePackageConfigHelpers)

set(ORMO_PACKAGE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/ormo")

install(EXPORT ormo-targets
  NAMESPACE ormo::
  FILE ormoTargets.cmake
  DESTINATION "${ORMO_PACKAGE_DIR}")

configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/ormoConfig.cmake.in"
  "${CMAKE_CURRENT_BINARY_DIR}/ormoConfig.cmake"
  INSTALL_DESTINATION "${ORMO_PACKAGE_DIR}")
write_basic_package_version_file(
  "${CMAKE_CURRENT_BINARY_DIR}/ormoConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)

install(FILES
  "${CMAKE_CURRENT_BINARY_DIR}/ormoConfig.cmake"
  "${CMAKE_CURRENT_BINARY_DIR}/ormoConfigVersion.cmake"
  "${CMAKE_CURRENT_LIST_DIR}/FindCAF.cmake"
  DESTINATION "${ORMO_PACKAGE_DIR}")
